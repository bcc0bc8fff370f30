"""Curated zone: the tables data scientists use."""

import hashlib
import hmac

import pandas as pd
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from stedi_assets.options import ML_JOIN_MODES
from stedi_assets.schemas.tables import CUSTOMER_CURATED, MACHINE_LEARNING_CURATED, PARTITION_COLUMN, SPLITS
from stedi_assets.transforms.trusted import consent_dates, customer_key


def customer_curated(customer_trusted: DataFrame, accelerometer_trusted: DataFrame) -> DataFrame:
    users = accelerometer_trusted.select(customer_key(F.col("user")).alias("customer_key")).distinct()
    curated = customer_trusted.join(
        users, customer_key(customer_trusted["email"]) == users["customer_key"], "left_semi"
    )
    return curated.select(*CUSTOMER_CURATED.column_names, PARTITION_COLUMN)


def keyed_digest(message: str, pseudonym_key: str) -> str:
    """HMAC-SHA256 of `message` with the pseudonym key, as hex."""
    return hmac.new(pseudonym_key.encode(), message.encode(), hashlib.sha256).hexdigest()


def pseudonym(key: Column, pseudonym_key: str) -> Column:
    """HMAC-SHA256 of the customer key, as hex: stable per person, not reversible without the key.

    Computed in Python (a pandas UDF), not with Spark's functions: Spark has no HMAC, and one built from its
    SHA-256 puts the key's padded blocks in every query plan as literals (Spark's UI, event logs, Glue's and
    EMR's dashboards), from which XOR gives back the key. A UDF's closure travels pickled, never in a plan."""

    @F.pandas_udf("string")
    def pseudonym_of(keys: pd.Series) -> pd.Series:
        return keys.map(lambda customer: keyed_digest(customer, pseudonym_key))

    return pseudonym_of(key)


def device_owners(customer_curated: DataFrame) -> DataFrame:
    """serialNumber, owner_key and consent_date: the curated customers each device belongs to (a small table,
    broadcast)."""
    return consent_dates(customer_curated).withColumnRenamed("customer_key", "owner_key")


def step_owners(step_trainer_trusted: DataFrame, customer_curated: DataFrame) -> DataFrame:
    """Each ingest date's devices, with their owners (null: none)."""
    devices = step_trainer_trusted.select(PARTITION_COLUMN, "serialNumber").distinct()
    return devices.join(device_owners(customer_curated), "serialNumber", "left")


def machine_learning_curated(
    step_trainer_trusted: DataFrame,
    accelerometer_trusted: DataFrame,
    customer_curated: DataFrame,
    ml_join: str,
    pseudonym_key: str,
    consent_cutoff: bool,
) -> DataFrame:
    """Step readings beside accelerometer readings at the same millisecond.

    ml_join="customer" pairs only readings of the same customer (device owner = phone user);
    ml_join="timestamp" pairs on time alone, as the exercise's rubric does.
    consent_cutoff: a row is its owner's only from the owner's own consent on. step_trainer_trusted keeps a
    shared device's readings from its first owner's consent, so in timestamp mode a later owner would get
    readings taken before theirs (in customer mode the owner's accelerometer readings already start there).
    """
    if ml_join not in ML_JOIN_MODES:
        raise ValueError(f"ml_join must be one of {ML_JOIN_MODES}, not {ml_join!r}")
    # Each owner's pseudonym is computed once, on the small owners table, not once per pair in Python: at 10x
    # the starter data that is 6,214 owners instead of twice 496,051 pairs.
    owners = device_owners(customer_curated).withColumn("customer_id", pseudonym(F.col("owner_key"), pseudonym_key))
    step_readings = step_trainer_trusted.join(F.broadcast(owners), "serialNumber")
    if consent_cutoff:
        step_readings = step_readings.where(F.col("sensorReadingTime") >= F.col("consent_date"))
    readings = accelerometer_trusted.select(customer_key(F.col("user")).alias("user_key"), "timestamp", "x", "y", "z")
    same_time = step_readings["sensorReadingTime"] == readings["timestamp"]
    if ml_join == "customer":
        same_time = same_time & (step_readings["owner_key"] == readings["user_key"])
        accelerometer_customer_id = F.col("customer_id")  # the owner's, by the join
    else:
        accelerometer_customer_id = pseudonym(F.col("user_key"), pseudonym_key)
    paired = step_readings.join(readings, same_time)
    return paired.select(
        *MACHINE_LEARNING_CURATED.column_names[:8],
        accelerometer_customer_id.alias("accelerometer_customer_id"),
        step_readings[PARTITION_COLUMN],
    )


# A keyed hash's first 52 bits, a fraction of 1 a double holds exactly.
FRACTION_HEX_DIGITS = 13


def split_of(customer_id: Column, pseudonym_key: str, shares: tuple[float, ...]) -> Column:
    """The customer's split: an HMAC of `split:<customer_id>` with the pseudonym key (so nobody without it can
    steer a customer into a split), read as a fraction of 1, against the shares' running sums. It depends on
    nothing but the customer and the configuration: a customer never changes split as data grows. In Python,
    as `pseudonym` is, so the key stays out of the plan."""
    train, validation, _ = shares

    def split(customer: str) -> str:
        fraction = int(keyed_digest(f"split:{customer}", pseudonym_key)[:FRACTION_HEX_DIGITS], 16)
        fraction /= 16**FRACTION_HEX_DIGITS
        return SPLITS[0] if fraction < train else SPLITS[1] if fraction < train + validation else SPLITS[2]

    @F.pandas_udf("string")
    def split_by_customer(customers: pd.Series) -> pd.Series:
        return customers.map(split)

    return split_by_customer(customer_id)


def training_set(machine_learning_curated: DataFrame, pseudonym_key: str, shares: tuple[float, ...]) -> DataFrame:
    split = split_of(F.col("customer_id"), pseudonym_key, shares).alias("split")
    return machine_learning_curated.select(*MACHINE_LEARNING_CURATED.column_names, split, PARTITION_COLUMN)
