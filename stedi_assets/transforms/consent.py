"""Who consents to research now, and which rows of a trusted or curated table are theirs: what a kept version
(a tag or branch) may still hold once a customer withdraws (invariant 8)."""

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from stedi_assets.transforms.trusted import customer_key


@dataclass(frozen=True)
class Consenting:
    """The customers whose current state consents: their keys, their devices' serial numbers, and their
    pseudonyms under the installation's key."""

    keys: frozenset[str]
    devices: frozenset[str]
    pseudonyms: frozenset[str]


def python_pseudonym(key: str, pseudonym_key: str) -> str:
    """`transforms.curated.pseudonym` in Python (HMAC-SHA256 as hex): for the few customers of a re-issue, with
    the key in no query plan."""
    return hmac.new(pseudonym_key.encode(), key.encode(), hashlib.sha256).hexdigest()


def consenting(customer_trusted: DataFrame, pseudonym_key: str) -> Consenting:
    """From the current customer_trusted: one small job."""
    rows = customer_trusted.select(customer_key(F.col("email")).alias("key"), "serialNumber").collect()
    keys = frozenset(row["key"] for row in rows)
    return Consenting(
        keys,
        frozenset(row["serialNumber"] for row in rows if row["serialNumber"] is not None),
        frozenset(python_pseudonym(key, pseudonym_key) for key in keys),
    )


# What a table's row belongs to, as a condition true for the rows of consenting customers.
Belongs = Callable[[Consenting], Column]


def by_email(column: str) -> Belongs:
    return lambda now: customer_key(F.col(column)).isin(sorted(now.keys))


def by_device(now: Consenting) -> Column:
    return F.col("serialNumber").isin(sorted(now.devices))


def by_pseudonyms(now: Consenting) -> Column:
    """Both the step trainer's owner and the accelerometer's user (another customer in ml_join=timestamp)."""
    ids = sorted(now.pseudonyms)
    return F.col("customer_id").isin(ids) & F.col("accelerometer_customer_id").isin(ids)
