"""PySpark, tuned for a laptop by default: one session per run, small shuffles, UTC.

The same resource drives any Spark: `local[*]`, a cluster master URL
(`spark://host:7077`, `yarn` on an EMR master node) or a Spark Connect endpoint
(`sc://host:15002`). The lake and landing paths must be reachable from the
cluster as well as from the Dagster process.
"""

from dagster_pyspark import PySparkResource

from stedi_assets.options import LOCAL_SPARK_CONFIG, use_this_python_for_local_workers


def local_spark(master: str = "local[*]") -> PySparkResource:
    if master.startswith("sc://"):
        remote = {k: v for k, v in LOCAL_SPARK_CONFIG.items() if k.startswith("spark.sql.")}
        return PySparkResource(spark_config={**remote, "spark.remote": master})
    if master.startswith("local"):
        use_this_python_for_local_workers()
        return PySparkResource(spark_config={**LOCAL_SPARK_CONFIG, "spark.master": master})
    # A cluster's executors run their own Python: point them at one with `PYSPARK_PYTHON`.
    cluster = {k: v for k, v in LOCAL_SPARK_CONFIG.items() if k != "spark.pyspark.python"}
    return PySparkResource(spark_config={**cluster, "spark.master": master})
