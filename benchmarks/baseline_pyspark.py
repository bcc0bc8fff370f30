"""Baseline: the nine contract tables in plain PySpark, with no orchestration, no quarantine, no checks.

    python -m benchmarks.baseline_pyspark --landing DIR --out DIR

What a data engineer would write by hand for the contract's default mode: read
each source with an explicit schema (`spark.read.json`), keep the valid lines
(parsed, key fields present), compute the trusted and curated tables, and write
all nine as Parquet partitioned by ingest date. Each stage is read back from
the Parquet it wrote, as the platform does. It uses the same local Spark
settings as the platform (2 cores here, 4 shuffle partitions, adaptive query
execution off, 4 GiB driver).

Simplifications, harmless on the benchmark's data (which has none of these):
a line whose non-key field has the wrong type is kept with that field null
only if Spark's reader accepts it (the platform quarantines it); an integral
float where an integer is expected is dropped (the platform keeps it); ties of
lastUpdateDate within one file are broken arbitrarily (the platform uses the
line number); a file with neither an `ingest_date=` folder nor an epoch in its
name gets no ingest date (the platform uses its modification time).
"""

import argparse
import sys
import time

from pyspark.sql import Column, DataFrame, SparkSession, Window
from pyspark.sql import functions as F
from pyspark.sql import types as T

from benchmarks.layout import (
    BENCHMARK_PSEUDONYM_KEY,
    TABLES,
    TRAIN_BELOW,
    VALIDATION_BELOW,
    landing_files,
    report_counts,
)
from stedi_assets.jvm_classes import java_options
from stedi_assets.spark_config import LOCAL_SPARK_CONFIG, use_this_python_for_local_workers

SPARK_CONFIG = {
    **LOCAL_SPARK_CONFIG,  # the platform's local settings
    "spark.app.name": "stedi-baseline-pyspark",
    # Field names as exported; `timestamp` and the old `timeStamp` are read as two columns.
    "spark.sql.caseSensitive": "true",
}

S, L, D = T.StringType(), T.LongType(), T.DoubleType()
CUSTOMER = [
    ("customerName", S),
    ("email", S),
    ("phone", S),
    ("birthDay", S),
    ("serialNumber", S),
    ("registrationDate", L),
    ("lastUpdateDate", L),
    ("shareWithResearchAsOfDate", L),
    ("shareWithPublicAsOfDate", L),
    ("shareWithFriendsAsOfDate", L),
]
ACCELEROMETER = [("user", S), ("timestamp", L), ("x", D), ("y", D), ("z", D)]
STEP_TRAINER = [("sensorReadingTime", L), ("serialNumber", S), ("distanceFromObject", L)]
CORRUPT = "_corrupt_record"


def names(fields) -> list[str]:
    return [name for name, _ in fields]


def customer_key(email: Column) -> Column:
    return F.lower(F.regexp_replace(email, r"^\s+|\s+$", ""))


def ingest_date(path: Column) -> Column:
    """The `ingest_date=` folder, else the UTC date of the epoch-ms in the file name."""
    folder = F.regexp_extract(path, r"ingest_date=(\d{4}-\d{2}-\d{2})/[^/]*$", 1)
    epoch_ms = F.regexp_extract(path, r"(?<!\d)(\d{13})\.json(\.gz)?$", 1)
    from_name = F.date_format(F.timestamp_millis(epoch_ms.cast("long")), "yyyy-MM-dd")
    return F.when(folder != "", folder).otherwise(from_name)


def read_source(spark: SparkSession, landing: str, source: str, fields, keys, extra=()) -> DataFrame:
    """Valid lines of a source, typed, with the file they came from and their ingest date."""
    schema = T.StructType([T.StructField(n, t) for n, t in (*fields, *extra)] + [T.StructField(CORRUPT, S)])
    rows = (
        spark.read.schema(schema)
        .option("mode", "PERMISSIVE")
        .option("columnNameOfCorruptRecord", CORRUPT)
        .json(landing_files(landing, source))
        .withColumn("_path", F.col("_metadata.file_path"))
    )
    for name, _ in extra:  # an old spelling of a field: use it where the current one is absent
        current = name.lower()
        rows = rows.withColumn(current, F.coalesce(F.col(current), F.col(name)))
    valid = rows.where(F.col(CORRUPT).isNull())
    for key in keys:
        valid = valid.where(F.col(key).isNotNull())
    return valid.select(
        *names(fields),
        F.element_at(F.split("_path", "/"), -1).alias("source_file"),
        ingest_date(F.col("_path")).alias("ingest_date"),
    )


def write(spark: SparkSession, frame: DataFrame, out: str, table: str) -> DataFrame:
    """Write a table as Parquet partitioned by ingest date, and read it back for the next stage."""
    path = f"{out}/{table}"
    frame.write.mode("overwrite").partitionBy("ingest_date").parquet(path)
    return spark.read.parquet(path)


def build(spark: SparkSession, landing: str, out: str, pseudonym_key: str) -> None:
    customers = write(spark, read_source(spark, landing, "customer", CUSTOMER, ["email"]), out, "customer_landing")
    accel = write(
        spark,
        read_source(spark, landing, "accelerometer", ACCELEROMETER, ["user", "timestamp"], extra=[("timeStamp", L)]),
        out,
        "accelerometer_landing",
    )
    steps = write(
        spark,
        read_source(spark, landing, "step_trainer", STEP_TRAINER, ["sensorReadingTime", "serialNumber"]),
        out,
        "step_trainer_landing",
    )

    # Current state per customer key; consenting customers only.
    latest = Window.partitionBy(customer_key(F.col("email"))).orderBy(
        F.col("lastUpdateDate").desc_nulls_last(), F.col("ingest_date").desc(), F.col("source_file").desc()
    )
    current = customers.withColumn("_rank", F.row_number().over(latest)).where("_rank = 1")
    customer_trusted = write(
        spark,
        current.where(F.col("shareWithResearchAsOfDate").isNotNull()).select(*names(CUSTOMER), "ingest_date"),
        out,
        "customer_trusted",
    )
    consenting = customer_trusted.select(customer_key(F.col("email")).alias("key"))

    # Distinct readings, each in the earliest ingest date it landed in.
    readings = accel.groupBy(*names(ACCELEROMETER)).agg(F.min("ingest_date").alias("ingest_date"))
    accelerometer_trusted = write(
        spark,
        readings.join(F.broadcast(consenting), customer_key(readings["user"]) == consenting["key"], "left_semi"),
        out,
        "accelerometer_trusted",
    )

    users = accelerometer_trusted.select(customer_key(F.col("user")).alias("key")).distinct()
    customer_curated = write(
        spark,
        customer_trusted.join(users, customer_key(customer_trusted["email"]) == users["key"], "left_semi"),
        out,
        "customer_curated",
    )

    devices = customer_curated.select("serialNumber").distinct()
    distinct_steps = steps.groupBy(*names(STEP_TRAINER)).agg(F.min("ingest_date").alias("ingest_date"))
    step_trainer_trusted = write(
        spark, distinct_steps.join(F.broadcast(devices), "serialNumber", "left_semi"), out, "step_trainer_trusted"
    )

    owners = customer_curated.select("serialNumber", customer_key(F.col("email")).alias("owner_key"))
    paired = step_trainer_trusted.join(F.broadcast(owners), "serialNumber").join(
        accelerometer_trusted.select(
            customer_key(F.col("user")).alias("owner_key"),
            F.col("timestamp").alias("sensorReadingTime"),
            "timestamp",
            "x",
            "y",
            "z",
        ),
        ["owner_key", "sensorReadingTime"],
    )
    pseudonym = F.sha2(F.concat(F.lit(pseudonym_key + ":"), F.col("owner_key")), 256)
    machine_learning_curated = write(
        spark,
        paired.select(
            "sensorReadingTime",
            "serialNumber",
            "distanceFromObject",
            "timestamp",
            "x",
            "y",
            "z",
            pseudonym.alias("customer_id"),
            pseudonym.alias("accelerometer_customer_id"),
            "ingest_date",
        ),
        out,
        "machine_learning_curated",
    )

    # A split per customer: a hash of the customer id with the key, read as a fraction of 1 (`layout`).
    digest = F.sha2(F.concat(F.lit(pseudonym_key + ":split:"), F.col("customer_id")), 256)
    fraction = F.conv(F.substring(digest, 1, 13), 16, 10).cast("double") / 16**13
    split = F.when(fraction < TRAIN_BELOW, "train").when(fraction < VALIDATION_BELOW, "validation").otherwise("test")
    write(spark, machine_learning_curated.withColumn("split", split), out, "training_set")


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_argument("--landing", required=True, help="landing root: <root>/<source>/landing/...")
    cli.add_argument("--out", required=True, help="folder the nine Parquet tables are written under")
    cli.add_argument("--pseudonym-key", default=BENCHMARK_PSEUDONYM_KEY)
    cli.add_argument("--no-counts", action="store_true", help="skip counting the tables at the end")
    cli.add_argument("--expect-starter", action="store_true", help="exit 1 unless the contract's starter counts")
    args = cli.parse_args(argv)

    started = time.perf_counter()
    builder = SparkSession.builder
    for key, value in SPARK_CONFIG.items():
        builder = builder.config(key, value)
    if options := java_options():  # the platform's JVM start too: from the class archive of an earlier run
        builder = builder.config("spark.driver.extraJavaOptions", options)
    use_this_python_for_local_workers()
    spark = builder.getOrCreate()
    session = time.perf_counter()
    build(spark, args.landing, args.out, args.pseudonym_key)
    done = time.perf_counter()
    report = {
        "engine": "pyspark",
        "session_seconds": round(session - started, 3),
        "build_seconds": round(done - session, 3),
    }
    if not args.no_counts:
        report["counts"] = {table: spark.read.parquet(f"{args.out}/{table}").count() for table in TABLES}
    spark.stop()
    return report_counts(report, args.expect_starter)


if __name__ == "__main__":
    sys.exit(main())
