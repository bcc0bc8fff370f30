"""Trusted zone: only the data of customers who consent to research."""

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


def distinct_readings(landing: DataFrame, table: TableSpec) -> DataFrame:
    """Exact duplicates collapse to one row, kept in the earliest ingest date it landed in."""
    return landing.groupBy(*table.column_names).agg(F.min(PARTITION_COLUMN).alias(PARTITION_COLUMN))


def consent_dates(customers: DataFrame) -> DataFrame:
    """customer_key, serialNumber and consent date of each customer (a small table, broadcast)."""
    return F.broadcast(
        customers.select(
            customer_key(F.col("email")).alias("customer_key"),
            "serialNumber",
            F.col("shareWithResearchAsOfDate").alias("consent_date"),
        )
    )


def accelerometer_trusted(
    accelerometer_landing: DataFrame, customer_trusted: DataFrame, consent_cutoff: bool
) -> DataFrame:
    readings = distinct_readings(accelerometer_landing, ACCELEROMETER_TRUSTED)
    consenting = consent_dates(customer_trusted)
    trusted = readings.join(consenting, customer_key(readings["user"]) == consenting["customer_key"])
    if consent_cutoff:
        trusted = trusted.where(F.col("timestamp") >= F.col("consent_date"))
    return trusted.select(*ACCELEROMETER_TRUSTED.column_names, readings[PARTITION_COLUMN])


def step_trainer_trusted(
    step_trainer_landing: DataFrame, customer_curated: DataFrame, consent_cutoff: bool
) -> DataFrame:
    """Readings of curated customers' devices; a device shared by several counts from its first consent."""
    readings = distinct_readings(step_trainer_landing, STEP_TRAINER_TRUSTED)
    devices = consent_dates(customer_curated).groupBy("serialNumber").agg(F.min("consent_date").alias("consent_date"))
    trusted = readings.join(F.broadcast(devices), "serialNumber")
    if consent_cutoff:
        trusted = trusted.where(F.col("sensorReadingTime") >= F.col("consent_date"))
    return trusted.select(*STEP_TRAINER_TRUSTED.column_names, PARTITION_COLUMN)
