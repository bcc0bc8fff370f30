"""Spark session configuration per master, importable without Spark or Dagster (so the CLI and the baselines
start fast)."""

import os
import sys

from stedi_assets.jvm_classes import java_options
from stedi_assets.lake import jars

# What any Spark needs to compute the tables as specified: dates in UTC, partition values kept as written,
# no `_SUCCESS` files, the customer key lower-cased by the JVM's rules on every Spark, SQL string literals read
# with escapes. The Glue/EMR entry script sets these too.
SPARK_SEMANTICS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.sources.partitionColumnTypeInference.enabled": "false",
    "spark.hadoop.mapreduce.fileoutputcommitter.marksuccessfuljobs": "false",
    # Spark 4 lower-cases with ICU's newer Unicode by default, Spark 3.5 (Glue 5, EMR 7) with Java's: an email
    # with a letter Java 17 does not know as cased ("Ⱟ", Unicode 14) gave two customer keys. Off, Spark 4 takes
    # Spark 3.5's path, so a key is the same wherever the same Java runs (Glue 5 and EMR 7 run Java 17); Spark 3.5
    # has no such setting and ignores it. ICU's start also cost each new JVM's first `lower` about 1.5 s.
    "spark.sql.icu.caseMappings.enabled": "false",
    # SQL string literals read with escapes (Spark's default), as the lake writes its table and column docs.
    "spark.sql.parser.escapedStringLiterals": "false",
}

APP_NAME = {"spark.app.name": "stedi-lakehouse"}

# Local Spark tuned for a laptop: small shuffles, no UI (the baselines use it too, for a fair comparison). A
# cluster gets the semantics and keeps its own defaults: its memory, its shuffles, its UI.
LOCAL_SPARK_CONFIG = {
    **SPARK_SEMANTICS,
    **APP_NAME,
    "spark.master": "local[*]",
    # Python workers run this interpreter, with its packages (Spark 3.5 would take `python3` from PATH).
    "spark.pyspark.python": sys.executable,
    "spark.driver.memory": "4g",
    "spark.sql.shuffle.partitions": "4",
    # Adaptive execution runs each shuffle stage as a job of its own: on 2 local cores that cost about 2 s of
    # a 30 s run of the starter data, and gained nothing at 10× or 100× (measured). Clusters keep it on.
    "spark.sql.adaptive.enabled": "false",
    # Iceberg's adaptive split size aims at one task per core of a cluster; on 2 local cores it split a table of
    # 100 small partitions into 100 tasks, and a scan of accelerometer_trusted took 4x as long as with
    # Iceberg's fixed 128 MiB splits (13 tasks; measured on the starter data over 100 ingest dates).
    "spark.sql.iceberg.read.adaptive-split-size.enabled": "false",
    # The driver's ports (its RPC endpoint and block manager) listen on loopback only: a local run serves no one
    # else, and these ports have no authentication.
    "spark.driver.bindAddress": "127.0.0.1",
    "spark.driver.host": "127.0.0.1",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.log.level": "WARN",
    # PySpark 4 sends the Python call site of every DataFrame and Column call to the JVM, for error messages: ten
    # more py4j round trips a call (`F.col` took 2 ms instead of 0.45 ms). Off, a small run makes 5,700 calls
    # instead of 11,000; an error loses only the Python line that built the failing expression. Spark 3.5 has no
    # such setting.
    "spark.python.sql.dataFrameDebugging.enabled": "false",
}


def use_this_python_for_local_workers() -> None:
    """Local Spark starts `$PYSPARK_PYTHON` for its Python workers, else `python3` from PATH: not this
    virtualenv's when `.venv/bin/stedi` runs without the virtualenv activated."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


# Small inputs get a JVM and queries tuned for short work. A run asks about fifty small queries (digests, writes,
# read-backs, checks):
# - Whole-stage code generation compiles Java for each distinct query plan, which on small inputs costs more than
#   it saves: without it a run of the starter data (10 MiB) took 9% less time, 100 MiB was a tie, 1 GiB 5% more.
# - Java's optimizing JIT compiler (C2) and the G1 collector's background threads kept both cores busy: with the
#   quick JIT (C1) alone and the serial collector, a run of the starter data took 15% less time and 37% less CPU,
#   a run of 60 sample customers 23% and 44% less; at 10× (100 MiB) it took 7% more time, so large inputs keep
#   the JVM's defaults (measured on 2 cores). With C1 alone, Java reserves 48 MiB for compiled code instead of
#   the 240 MiB it reserves for both compilers: a JVM serving several runs (the warm server, a test session) filled
#   it by its third run of the starter data (1.6 s of sweeping in that run) and by a sixth tiny run, then swept it
#   and compiled the flushed methods again: tiny runs six to nine took 4.0, 7.0, 4.6 and 3.9 s of JVM CPU, and
#   3.1, 3.2, 3.0 and 3.5 s with 240 MiB, where no run swept.
# - Tiny inputs (samples, a first delivery) evaluate expressions interpreted as well: without whole-stage code,
#   each query still compiled its projections, predicates and aggregation buffers with Janino, about 30% of a
#   tiny run's JVM samples (Java Flight Recorder). Spark's interpreted evaluators compute the same
#   (`spark.sql.codegen.factoryMode`, an internal setting of Spark 3.5 and 4). New-process runs of
#   `stedi materialize` into a new lake, medians of 3 interleaved: 0.4 MiB (60 sample customers) 19.3 s against
#   22.0 s compiled, 1.2 MiB 20.1 s against 22.8 s, 3.4 MiB 20.7 s against 22.9 s, 6.7 MiB a tie (22.9 s against
#   23.0 s); the starter data (10 MiB) took 28.0 s against 26.7 s. So from 4 MiB on they compile.
# One JVM may serve runs of both sizes (getOrCreate applies a run's SQL settings to the session it finds), so each
# local run sets both explicitly.
SMALL_LANDING_BYTES = 32 * 2**20
TINY_LANDING_BYTES = 4 * 2**20
SMALL_INPUT_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -XX:ReservedCodeCacheSize=240m"


def code_generation(size: int) -> dict[str, str]:
    """The code generation settings for a local run over `size` bytes of landing data."""
    return {
        "spark.sql.codegen.wholeStage": str(size >= SMALL_LANDING_BYTES).lower(),
        "spark.sql.codegen.factoryMode": "FALLBACK" if size >= TINY_LANDING_BYTES else "NO_CODEGEN",
    }


# Local Spark kept warm between runs: a Spark Connect server on this machine (`warm_spark`).
WARM = "warm"


def runs_on_this_machine(master: str) -> bool:
    """Whether the run's Spark is a local one: started here, with the lake's jars from the cache."""
    return master.startswith("local") or master == WARM


def remote_session_config(url: str) -> dict[str, str]:
    """A session of a running Spark Connect server: only SQL settings can be set."""
    return {**{k: v for k, v in SPARK_SEMANTICS.items() if k.startswith("spark.sql.")}, "spark.remote": url}


def spark_config(
    master: str = "local[*]", landing_bytes: int | None = None, record_classes: bool = False, s3_lake: bool = False
) -> dict[str, str]:
    """The session config for a master: `local[*]`, a cluster master URL, or Spark Connect `sc://host:port`
    (`warm`: the config of the local server, `warm_spark`).

    `landing_bytes`, when known, is the size of the landing data the run reads: a small one runs on a JVM and
    queries tuned for short work. A local JVM starts from the class archive of an earlier run, or, with
    `record_classes` and no archive yet, can save one (`jvm_classes`). The lake's jars come from the cache
    (`lake.jars`); a Spark Connect server has its own."""
    if runs_on_this_machine(master):
        use_this_python_for_local_workers()
        master = "local[*]" if master == WARM else master
        size = SMALL_LANDING_BYTES if landing_bytes is None else landing_bytes  # not known: Spark's and Java's defaults
        config = {**LOCAL_SPARK_CONFIG, **jars.iceberg_config(s3_lake), **code_generation(size), "spark.master": master}
        options = [java_options(record_classes)]
        if size < SMALL_LANDING_BYTES:
            options.append(SMALL_INPUT_JAVA_OPTIONS)
        if options := " ".join(option for option in options if option):
            config["spark.driver.extraJavaOptions"] = options
        return config
    if master.startswith("sc://"):
        return remote_session_config(master)
    return {**SPARK_SEMANTICS, **APP_NAME, **jars.iceberg_config(s3_lake), "spark.master": master}
