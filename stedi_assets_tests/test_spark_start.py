"""`stedi materialize` starts Spark on a thread while Dagster loads (`stedi_assets/spark_start.py`)."""

import json
import subprocess
import sys

# A fresh process: the test session's own Spark would otherwise be the one found.
SCRIPT = """
import json
import dagster as dg
from pyspark import SparkContext
from stedi_assets.options import spark_config
from stedi_assets.resources.spark import local_spark
from stedi_assets.spark_start import start_spark_session

started = start_spark_session("local[1]")
assert start_spark_session("local[1]") is started
resource = local_spark("local[1]")
resource.setup_for_execution(dg.build_init_resource_context())
started.join()
context = resource.spark_session.sparkContext
print(json.dumps({
    "same_context": context is SparkContext._active_spark_context,
    "wanted": spark_config("local[1]"),
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
    assert {key: report["got"].get(key) for key in report["wanted"]} == report["wanted"]


def test_spark_connect_is_not_started_ahead():
    from stedi_assets.spark_start import start_spark_session

    assert start_spark_session("sc://localhost:15002") is None
