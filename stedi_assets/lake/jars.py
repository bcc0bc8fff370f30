"""The Java jars Spark needs for the lake, pinned in one place and fetched once from Maven Central.

Spark's own dependency resolution (`spark.jars.packages`, Apache Ivy) downloads them on the first local
session into a cache folder; later sessions take the cached files, offline too. Glue and EMR jobs never
download: they run the service's bundled Iceberg, or jars shipped with the job (docs/aws.md).
"""

import os
from importlib.metadata import version
from pathlib import Path

ICEBERG = "1.11.0"  # iceberg-spark-runtime for Spark 4.0 and 3.5 (Glue 5 ships 1.7.1, Glue 5.1 ships 1.10.0)
SQLITE_JDBC = "3.51.1.0"
JAR_CACHE_ENV = "STEDI_JAR_CACHE"

# Each Spark minor version is built with one Scala version, and the runtime jar is built for both.
SCALA = {"3.5": "2.12", "4.0": "2.13"}


def spark_minor() -> str:
    return ".".join(version("pyspark").split(".")[:2])


def packages(aws: bool, iceberg: str = ICEBERG) -> list[str]:
    """Maven coordinates: Iceberg's Spark runtime for the pyspark in use, the SQLite driver (the local
    catalog) and, for a lake on S3, Iceberg's AWS bundle (S3FileIO and the Glue catalog). `iceberg`: another
    Iceberg release (the one an AWS engine ships, for its offline stand-in)."""
    minor = spark_minor()
    if minor not in SCALA:
        raise RuntimeError(f"pyspark {version('pyspark')} is not supported: use pyspark 3.5 or 4.0")
    local = [
        f"org.apache.iceberg:iceberg-spark-runtime-{minor}_{SCALA[minor]}:{iceberg}",
        f"org.xerial:sqlite-jdbc:{SQLITE_JDBC}",
    ]
    return [*local, f"org.apache.iceberg:iceberg-aws-bundle:{iceberg}"] if aws else local


def cache_dir() -> Path:
    return Path(os.environ.get(JAR_CACHE_ENV) or Path.home() / ".cache" / "stedi" / "ivy")


def cached_jars(aws: bool, iceberg: str = ICEBERG) -> list[Path]:
    """The jars as Ivy keeps them (`<cache>/jars/<group>_<artifact>-<version>.jar`)."""
    coordinates = packages(aws, iceberg)
    return [cache_dir() / "jars" / "{}_{}-{}.jar".format(*coordinate.split(":")) for coordinate in coordinates]


def missing(aws: bool, iceberg: str = ICEBERG) -> bool:
    return not all(jar.is_file() for jar in cached_jars(aws, iceberg))


# Iceberg's SQL: procedures (maintenance) and row-level DELETE / MERGE. Glue and EMR jobs set it too.
ICEBERG_EXTENSIONS = {"spark.sql.extensions": "org.apache.iceberg.spark.extensions.IcebergSparkSessionExtensions"}


def iceberg_config(aws: bool, iceberg: str = ICEBERG) -> dict[str, str]:
    """What a Spark JVM started here needs for the lake: the jars, and Iceberg's SQL.

    Once the jars are cached, the JVM takes them as files (`spark.jars`): Ivy's resolution would only find
    them again, at every start. Until then Spark's own resolution fetches them into the cache."""
    if missing(aws, iceberg):
        jars = {"spark.jars.packages": ",".join(packages(aws, iceberg)), "spark.jars.ivy": str(cache_dir())}
    else:
        jars = {"spark.jars": ",".join(str(jar) for jar in cached_jars(aws, iceberg))}
    return {**jars, **ICEBERG_EXTENSIONS}


def unavailable_message(aws: bool) -> str:
    """One line for a Spark that could not start while the jars were not cached (offline, most likely)."""
    return (
        f"Spark could not start, and the lake's jars ({', '.join(packages(aws))}) are not in {cache_dir()}: "
        f"connect to the internet once so they can be fetched from Maven Central, or set {JAR_CACHE_ENV} to an Ivy "
        "cache folder that holds them"
    )
