"""PySpark, tuned for a laptop by default: one session per run, small shuffles, UTC.

The same resource drives any Spark: `local[*]`, a cluster master URL
(`spark://host:7077`, `yarn` on an EMR master node) or a Spark Connect endpoint
(`sc://host:15002`), or `warm`: local Spark kept warm between runs
(`warm_spark`). The lake and landing paths must be reachable from the
cluster as well as from the Dagster process.
"""

from dagster import InitResourceContext
from dagster_pyspark import PySparkResource
from dagster_pyspark.resources import spark_session_from_config

from stedi_assets.spark_config import WARM, remote_session_config, spark_config


class WarmSparkResource(PySparkResource):
    """A session of the warm local server for `spark_config` (the local config it runs), found or started when
    a run starts, not when the definitions load."""

    def setup_for_execution(self, context: InitResourceContext) -> None:
        from stedi_assets.warm_spark import connect  # POSIX file locks: imported only where a run asks for it

        self._spark_session = spark_session_from_config(remote_session_config(connect(self.spark_config)))


def local_spark(master: str = "local[*]", landing_bytes: int | None = None, s3_lake: bool = False) -> PySparkResource:
    resource = WarmSparkResource if master == WARM else PySparkResource
    return resource(spark_config=spark_config(master, landing_bytes, s3_lake=s3_lake))
