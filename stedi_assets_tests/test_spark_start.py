"""`stedi materialize` starts Spark on a thread while Dagster loads (`stedi_assets/spark_start.py`)."""

import json
import subprocess
import sys

from stedi_assets.options import INTERPRETED_BELOW_LANDING_BYTES, SPARK_SEMANTICS, spark_config

# A fresh process: the test session's own Spark would otherwise be the one found.
SCRIPT = """
import json
import dagster as dg
from pyspark import SparkContext
from stedi_assets.options import spark_config
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


def test_only_small_landing_data_runs_local_queries_without_generated_code():
    small, large = INTERPRETED_BELOW_LANDING_BYTES - 1, INTERPRETED_BELOW_LANDING_BYTES
    assert spark_config("local[*]", small)["spark.sql.codegen.wholeStage"] == "false"
    spark_defaults = [
        spark_config("local[*]", large),
        spark_config("local[*]"),  # size unknown (`dagster dev`)
        spark_config("spark://master:7077", small),
        spark_config("sc://localhost:15002", small),
    ]
    assert not any("spark.sql.codegen.wholeStage" in config for config in spark_defaults)


def test_a_cluster_keeps_its_own_resources_and_gets_the_tables_semantics():
    """Laptop tuning (driver memory, 4 shuffle partitions, no UI, no adaptive execution) stays local."""
    for master in ("spark://master:7077", "yarn"):
        cluster = spark_config(master)
        assert {key: cluster[key] for key in SPARK_SEMANTICS} == SPARK_SEMANTICS
        laptop = {
            "spark.driver.memory",
            "spark.sql.shuffle.partitions",
            "spark.ui.enabled",
            "spark.sql.adaptive.enabled",
        }
        assert not laptop & set(cluster)
        assert cluster["spark.master"] == master and "spark.jars.packages" in cluster
    assert laptop <= set(spark_config("local[*]"))


def test_spark_connect_is_not_started_ahead():
    from stedi_assets.spark_start import start_spark_session

    assert start_spark_session("sc://localhost:15002") is None
