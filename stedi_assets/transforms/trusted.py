"""Trusted zone: only the data of customers who consent to research."""

from functools import reduce

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F

from stedi_assets.schemas.tables import (
    ACCELEROMETER_TRUSTED,
    CUSTOMER_TRUSTED,
    PARTITION_COLUMN,
    STEP_TRAINER_TRUSTED,
    TableSpec,
)


def customer_key(email: Column) -> Column:
    """Email trimmed of any whitespace (not only spaces, as F.trim would) and lower-cased."""
    return F.lower(F.regexp_replace(email, r"^\s+|\s+$", ""))


def customer_current_state(customer_landing: DataFrame) -> DataFrame:
    """Per customer key, the record with the greatest lastUpdateDate (ties: later date, file, line)."""
    latest_first = Window.partitionBy(customer_key(F.col("email"))).orderBy(
        F.col("lastUpdateDate").desc_nulls_last(),
        F.col(PARTITION_COLUMN).desc(),
        F.col("source_file").desc(),
        F.col("line_number").desc(),
    )
    return (
        customer_landing.withColumn("_rank", F.row_number().over(latest_first)).where(F.col("_rank") == 1).drop("_rank")
    )


def customer_trusted(customer_landing: DataFrame) -> DataFrame:
    consenting = customer_current_state(customer_landing).where(F.col("shareWithResearchAsOfDate").isNotNull())
    return consenting.select(*CUSTOMER_TRUSTED.column_names, PARTITION_COLUMN)


def distinct_readings(
    landing: DataFrame, table: TableSpec, time_column: str, dates: list[str] | None = None, span: tuple | None = None
) -> DataFrame:
    """Exact duplicates collapse to one row, kept in the earliest ingest date it landed in.

    With `dates`, only the rows kept in those dates. Their earlier copies are found by a join (broadcast
    when those dates are small) with the rest of landing, read only where it holds readings of the same
    time span, so the Parquet reader skips files and row groups outside it. `span`: that time span (first,
    last), when the caller knows it; else a first, small job finds it.
    """
    columns = table.column_names
    if dates is not None:
        landed = landing.where(F.col(PARTITION_COLUMN).isin(dates)).select(*columns)
        first, last = span or landed.agg(F.min(time_column), F.max(time_column)).first()
        copies = landing.where(F.col(time_column).between(first, last)).alias("copies")
        same_reading = reduce(
            lambda a, b: a & b, [F.col(f"copies.{c}").eqNullSafe(F.col(f"landed.{c}")) for c in columns]
        )
        landing = copies.join(landed.alias("landed"), same_reading, "left_semi")
    readings = landing.groupBy(*columns).agg(F.min(PARTITION_COLUMN).alias(PARTITION_COLUMN))
    return readings if dates is None else readings.where(F.col(PARTITION_COLUMN).isin(dates))


def consent_dates(customers: DataFrame) -> DataFrame:
    """customer_key, serialNumber and consent date of each customer (a small table, broadcast)."""
    return F.broadcast(
        customers.select(
            customer_key(F.col("email")).alias("customer_key"),
            "serialNumber",
            F.col("shareWithResearchAsOfDate").alias("consent_date"),
        )
    )


def device_consent_dates(customer_curated: DataFrame) -> DataFrame:
    """serialNumber and its first consent date: a device shared by several customers counts from the first."""
    devices = consent_dates(customer_curated).groupBy("serialNumber").agg(F.min("consent_date").alias("consent_date"))
    return F.broadcast(devices)


def accelerometer_trusted(
    accelerometer_landing: DataFrame,
    customer_trusted: DataFrame,
    consent_cutoff: bool,
    dates: list[str] | None = None,
    span: tuple | None = None,
) -> DataFrame:
    """Readings of consenting customers; with `dates`, only those kept in these ingest dates (`span`: the time
    their landed readings span, if known)."""
    readings = distinct_readings(accelerometer_landing, ACCELEROMETER_TRUSTED, "timestamp", dates, span)
    consenting = consent_dates(customer_trusted)
    trusted = readings.join(consenting, customer_key(readings["user"]) == consenting["customer_key"])
    if consent_cutoff:
        trusted = trusted.where(F.col("timestamp") >= F.col("consent_date"))
    return trusted.select(*ACCELEROMETER_TRUSTED.column_names, readings[PARTITION_COLUMN])


def step_trainer_trusted(
    step_trainer_landing: DataFrame,
    customer_curated: DataFrame,
    consent_cutoff: bool,
    dates: list[str] | None = None,
    span: tuple | None = None,
) -> DataFrame:
    """Readings of curated customers' devices; with `dates`, only those kept in these ingest dates (`span`: the
    time their landed readings span, if known)."""
    readings = distinct_readings(step_trainer_landing, STEP_TRAINER_TRUSTED, "sensorReadingTime", dates, span)
    trusted = readings.join(device_consent_dates(customer_curated), "serialNumber")
    if consent_cutoff:
        trusted = trusted.where(F.col("sensorReadingTime") >= F.col("consent_date"))
    return trusted.select(*STEP_TRAINER_TRUSTED.column_names, PARTITION_COLUMN)


def accelerometer_consent(accelerometer_landing: DataFrame, customer_trusted: DataFrame) -> DataFrame:
    """Each ingest date's users, with their consent date (null: none)."""
    consenting = consent_dates(customer_trusted).select("customer_key", "consent_date")
    users = accelerometer_landing.select(PARTITION_COLUMN, "user").distinct()  # then the key of far fewer rows
    return users.withColumn("customer_key", customer_key(F.col("user"))).join(consenting, "customer_key", "left")


def step_trainer_consent(step_trainer_landing: DataFrame, customer_curated: DataFrame) -> DataFrame:
    """Each ingest date's devices, with their first consent date (null: none)."""
    devices = step_trainer_landing.select(PARTITION_COLUMN, "serialNumber").distinct()
    return devices.join(device_consent_dates(customer_curated), "serialNumber", "left")
