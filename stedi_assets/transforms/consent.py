"""Who consents to research now, and which rows of a trusted or curated table are theirs: what a kept version
(a tag or branch) may still hold once a customer withdraws (invariant 8).

The consenting customers are joined as small broadcast frames computed from customer_trusted, never
collected into literals: a plan (Spark's UI, event logs, a failure's trace) holds no email or pseudonym."""

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from stedi_assets.transforms.curated import pseudonym
from stedi_assets.transforms.trusted import customer_key

KEPT = "_kept"  # the flag `Belongs` adds: true for a row of a customer who consents now


@dataclass(frozen=True)
class Consenting:
    """The customers whose current state consents, as one-column frames (`member`): their keys, their
    devices' serial numbers, and their pseudonyms under the installation's key."""

    keys: DataFrame
    devices: DataFrame
    pseudonyms: DataFrame


def consenting(customer_trusted: DataFrame, pseudonym_key: str) -> Consenting:
    keys = customer_trusted.select(customer_key(F.col("email")).alias("member")).distinct()
    return Consenting(
        keys,
        customer_trusted.select(F.col("serialNumber").alias("member")).where(F.col("member").isNotNull()).distinct(),
        keys.select(pseudonym(F.col("member"), pseudonym_key).alias("member")),
    )


def _flag(rows: DataFrame, value: Column, members: DataFrame, name: str) -> DataFrame:
    """`rows` with `name`: whether `value` is one of `members` (false for null)."""
    found = F.broadcast(members.select(F.col("member").alias(f"{name}_member"), F.lit(True).alias(name)))
    flagged = rows.join(found, value == found[f"{name}_member"], "left").drop(f"{name}_member")
    return flagged.withColumn(name, F.coalesce(F.col(name), F.lit(False)))


# Which of a table's rows are of consenting customers: the rows with the flag `KEPT`.
Belongs = Callable[[DataFrame, Consenting], DataFrame]


def by_email(column: str) -> Belongs:
    return lambda rows, now: _flag(rows, customer_key(rows[column]), now.keys, KEPT)


def by_device(rows: DataFrame, now: Consenting) -> DataFrame:
    return _flag(rows, rows["serialNumber"], now.devices, KEPT)


def by_pseudonyms(rows: DataFrame, now: Consenting) -> DataFrame:
    """Both the step trainer's owner and the accelerometer's user (another customer in ml_join=timestamp)."""
    owners = _flag(rows, rows["customer_id"], now.pseudonyms, "_owner")
    both = _flag(owners, owners["accelerometer_customer_id"], now.pseudonyms, "_user")
    return both.withColumn(KEPT, F.col("_owner") & F.col("_user")).drop("_owner", "_user")
