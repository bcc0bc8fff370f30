"""`stedi materialize` starts Spark on a thread while Dagster loads (`stedi_assets/spark_start.py`)."""

import json
import subprocess
import sys

import pytest

from stedi_assets.spark_config import spark_config

# A fresh process: the test session's own Spark would otherwise be the one found.
SCRIPT = """
import json
import dagster as dg
from pyspark import SparkContext
from stedi_assets.spark_config import spark_config
from stedi_assets.resources.spark import local_spark
from stedi_assets.spark_start import start_spark_session

SMALL = 1000  # landing bytes: the config has a setting for small landing data
started = start_spark_session("local[1]", SMALL)
assert start_spark_session("local[1]", SMALL) is started
resource = local_spark("local[1]", SMALL)
resource.setup_for_execution(dg.build_init_resource_context())
started.join()
context = resource.spark_session.sparkContext
print(json.dumps({
    "same_context": context is SparkContext._active_spark_context,
    "wanted": spark_config("local[1]", SMALL),
    "got": dict(context.getConf().getAll()),
}))
"""


@pytest.mark.slow
def test_the_run_gets_the_session_started_ahead_with_the_resource_config():
    """One SparkContext per run, created with every setting the resource asks for: settings such as the
    driver's memory or the master cannot change once the JVM is up, so a mismatch would go unnoticed."""
    result = subprocess.run([sys.executable, "-c", SCRIPT], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["same_context"]
    got, wanted = report["got"], report["wanted"]
    java_options = wanted.pop("spark.driver.extraJavaOptions", "")  # Spark puts its module options before them
    assert got.get("spark.driver.extraJavaOptions", "").endswith(java_options)
    assert {key: got.get(key) for key in wanted} == wanted


def test_a_cluster_keeps_its_own_resources_and_gets_the_tables_semantics():
    """Laptop tuning (driver memory, 4 shuffle partitions, no UI, no adaptive execution) stays local."""
    laptop = {"spark.driver.memory", "spark.sql.shuffle.partitions", "spark.ui.enabled", "spark.sql.adaptive.enabled"}
    for master in ("spark://master:7077", "yarn"):
        assert not laptop & set(spark_config(master))
