"""PySpark, tuned for a laptop by default: one session per run, small shuffles, UTC.

The same resource drives any Spark: `local[*]`, a cluster master URL
(`spark://host:7077`, `yarn` on an EMR master node) or a Spark Connect endpoint
(`sc://host:15002`). The lake and landing paths must be reachable from the
cluster as well as from the Dagster process.
"""

from dagster_pyspark import PySparkResource

LOCAL_SPARK_CONFIG = {
    "spark.master": "local[*]",
    "spark.app.name": "stedi-lakehouse",
    "spark.driver.memory": "4g",
    "spark.sql.shuffle.partitions": "4",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.adaptive.enabled": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.log.level": "WARN",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
}


def local_spark(master: str = "local[*]") -> PySparkResource:
    if master.startswith("sc://"):
        remote = {k: v for k, v in LOCAL_SPARK_CONFIG.items() if k.startswith("spark.sql.")}
        return PySparkResource(spark_config={**remote, "spark.remote": master})
    return PySparkResource(spark_config={**LOCAL_SPARK_CONFIG, "spark.master": master})
