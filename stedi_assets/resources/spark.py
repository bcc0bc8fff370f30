"""Local PySpark, tuned for a laptop: one session per run, small shuffles, UTC."""

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


def local_spark(**overrides: str) -> PySparkResource:
    return PySparkResource(spark_config={**LOCAL_SPARK_CONFIG, **overrides})
