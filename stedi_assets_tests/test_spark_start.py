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


def listening_addresses(pid: int) -> set[str]:
    """The local addresses of the TCP sockets process `pid` listens on, read from /proc (hex, as the kernel
    writes them: 0100007F is 127.0.0.1)."""
    import os

    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        target = os.readlink(f"/proc/{pid}/fd/{fd}") if os.path.islink(f"/proc/{pid}/fd/{fd}") else ""
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    listening = set()
    for table in ("tcp", "tcp6"):
        for line in open(f"/proc/{pid}/net/{table}").read().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                listening.add(fields[1].rsplit(":", 1)[0])
    return listening


LOOPBACK = {"0100007F", "00000000000000000000000001000000", "0000000000000000FFFF00000100007F"}


def test_local_spark_listens_on_loopback_only(spark):
    """The driver's RPC and block manager ports, while a job runs and after: never the machine's other addresses."""
    spark.range(1000).selectExpr("id % 7 AS k").groupBy("k").count().collect()  # a shuffle: blocks are served
    pid = spark.sparkContext._jvm.java.lang.ProcessHandle.current().pid()
    addresses = listening_addresses(pid)
    assert addresses, "the JVM listens on some port"
    assert addresses <= LOOPBACK, addresses
