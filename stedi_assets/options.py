"""Options and defaults, importable without Spark or Dagster (so the CLI and the baselines start fast)."""

import os
import sys

ML_JOIN_MODES = ("customer", "timestamp")
DEV_PSEUDONYM_KEY = "local-development-only"

# Python workers must run this interpreter, with its packages: local Spark starts `$PYSPARK_PYTHON`, else
# `python3` from PATH, which is not this virtualenv's when `.venv/bin/stedi` is run without activating it.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

# Local Spark tuned for a laptop: small shuffles, UTC, no UI (the baselines use it too, for a fair comparison).
LOCAL_SPARK_CONFIG = {
    "spark.master": "local[*]",
    # Python workers run this interpreter, with its packages (Spark 3.5 would take `python3` from PATH).
    "spark.pyspark.python": sys.executable,
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
