"""PySpark, tuned for a laptop by default: one session per run, small shuffles, UTC.

The same resource drives any Spark: `local[*]`, a cluster master URL
(`spark://host:7077`, `yarn` on an EMR master node) or a Spark Connect endpoint
(`sc://host:15002`). The lake and landing paths must be reachable from the
cluster as well as from the Dagster process.
"""

from dagster_pyspark import PySparkResource

from stedi_assets.spark_config import spark_config


def local_spark(master: str = "local[*]", landing_bytes: int | None = None, s3_lake: bool = False) -> PySparkResource:
    return PySparkResource(spark_config=spark_config(master, landing_bytes, s3_lake=s3_lake))
