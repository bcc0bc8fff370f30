"""Start the run's Spark session while Dagster loads, so the two waits overlap.

`stedi materialize` spends about 3 s importing Dagster and setting up its run
before the `pyspark` resource starts Spark, which takes about 4 s more. Started
here first, on a thread, the JVM comes up meanwhile; the resource then asks
for a session with the same config and gets this one
(`SparkSession.builder.getOrCreate` waits for a start in progress).
"""

import functools
import logging
import threading

from stedi_assets.spark_config import WARM, spark_config

log = logging.getLogger(__name__)


@functools.cache
def start_spark_session(
    master: str, landing_bytes: int | None = None, s3_lake: bool = False
) -> threading.Thread | None:
    """Once per process, with the config the resource will ask for (`spark_config`). The warm server is found
    or started (`warm_spark`); other Spark Connect sessions start in the resource: their server is up."""
    if master.startswith("sc://"):
        return None
    # `stedi materialize` saves the class archive from a JVM of its own.
    config = spark_config(master, landing_bytes, record_classes=master != WARM, s3_lake=s3_lake)

    def start() -> None:
        try:
            if master == WARM:
                from stedi_assets.warm_spark import connect

                connect(config)
                return
            from pyspark.sql import SparkSession

            SparkSession.builder.config(map=config).getOrCreate()
        except Exception as error:  # the resource starts it again and fails the run with the error
            log.debug(f"Spark did not start ahead of the run: {error}")
            thread.error = error

    thread = threading.Thread(target=start, name="spark-start", daemon=True)
    thread.error = None
    thread.start()
    return thread
