"""Invariant 8 table by table: a kept version of each trusted and curated table loses exactly the rows of the
customers who no longer consent (by email, by user, by device, by both pseudonyms of a pair), keeps every
other row and its name, and tells its re-issues; versions whose customers cannot be told are kept as they
are. Small tables written as the builds write them; the expected rows are filtered here, in Python."""

import hashlib
import hmac

import pytest

from stedi_assets.builds.build import BuildInputs, publish
from stedi_assets.kept_versions import needs_a_person, purge_withdrawn, reissue_text
from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.lake.versions import versions
from stedi_assets.options import StediOptions
from stedi_assets.pseudonym_key import key_id
from stedi_assets.schemas.tables import (
    ACCELEROMETER_TRUSTED,
    CUSTOMER_CURATED,
    CUSTOMER_TRUSTED,
    MACHINE_LEARNING_CURATED,
    STEP_TRAINER_TRUSTED,
    TRAINING_SET,
)
from stedi_assets_tests.lake_contents import kept_versions

KEY = "kept-versions-key"
DATES = ("2024-01-01", "2024-01-02")


def pseudonym(email: str, key: str = KEY) -> str:
    return hmac.new(key.encode(), email.encode(), hashlib.sha256).hexdigest()


def customer(email: str, serial: str, date: str) -> tuple:
    return ("Name", email, "555", "1990-01-01", serial, 1, 2, 3, None, None, date)


def pair(serial: str, time: int, owner: str, user: str, date: str) -> tuple:
    return (time, serial, 10, time, 0.1, 0.2, 0.3, pseudonym(owner), pseudonym(user), date)


# Ann consents throughout; Bob and Cy withdraw. Bob's phone reading paired with Ann's device (ml_join=timestamp)
# is his too. The customer tables hold Bob in another spelling of his email (trimmed and lower-cased: his key).
CUSTOMERS = [
    customer("ann@x.com", "S1", DATES[0]),
    customer(" Bob@X.com", "S2", DATES[0]),
    customer("cy@x.com", "S3", DATES[1]),
]
READINGS = [("ann@x.com", 100, 1.0, 1.0, 1.0, DATES[0]), ("bob@x.com", 100, 2.0, 2.0, 2.0, DATES[0]),
            ("cy@x.com", 300, 3.0, 3.0, 3.0, DATES[1])]  # fmt: skip
STEPS = [(100, "S1", 5, DATES[0]), (200, "S2", 6, DATES[0]), (300, "S3", 7, DATES[1])]
PAIRS = [pair("S1", 100, "ann@x.com", "ann@x.com", DATES[0]), pair("S1", 100, "ann@x.com", "bob@x.com", DATES[0]),
         pair("S2", 200, "bob@x.com", "bob@x.com", DATES[0]),
         pair("S3", 300, "cy@x.com", "cy@x.com", DATES[1])]  # fmt: skip
SPLIT_PAIRS = [(*row[:-1], "train", row[-1]) for row in PAIRS]


def write(spark, lake: Lake, table, rows: list[tuple]) -> None:
    """The table holding `rows`, committed as its build commits (with what it was built from, the key's id)."""
    source = {table.name: {"options": {"pseudonym_key": key_id(KEY)}}}
    inputs = BuildInputs(spark, lake, None, StediOptions(pseudonym_key=KEY), list(DATES), list(DATES), source)
    publish(inputs, table, spark.createDataFrame(rows, table.spark_schema), list(DATES))


def tag_all(lake: Lake, tables, name: str) -> None:
    for table in tables:
        iceberg = lake.iceberg(table)
        iceberg.manage_snapshots().create_tag(iceberg.current_snapshot().snapshot_id, name).commit()


TABLES = {
    CUSTOMER_TRUSTED: CUSTOMERS,
    CUSTOMER_CURATED: CUSTOMERS,
    ACCELEROMETER_TRUSTED: READINGS,
    STEP_TRAINER_TRUSTED: STEPS,
    MACHINE_LEARNING_CURATED: PAIRS,
    TRAINING_SET: SPLIT_PAIRS,
}


def is_withdrawn(row: dict, emails=("bob@x.com", "cy@x.com"), devices=("S2", "S3")) -> bool:
    """By the contract's keys, computed here: email or user (trimmed, lower-cased), device, either pseudonym."""
    keys = {(row.get(name) or "").strip().lower() for name in ("email", "user")}
    ids = {row.get("customer_id"), row.get("accelerometer_customer_id")}
    return bool(
        keys & set(emails)
        or ids & {pseudonym(email) for email in emails}
        or ("sensorReadingTime" in row and "customer_id" not in row and row["serialNumber"] in devices)
    )


@pytest.fixture
def lake(spark, tmp_path) -> Lake:
    lake = Lake(str(tmp_path / "lake"))
    for table, rows in TABLES.items():
        write(spark, lake, table, rows)
    tag_all(lake, TABLES, "paper")
    return lake


def versions_of(lake: Lake) -> dict[tuple[str, str], list[dict]]:
    return {(table.name, ref): rows for table in TABLES for ref, rows in kept_versions(lake.root, table.name).items()}


def test_each_kept_version_loses_exactly_the_withdrawn_customers_rows(spark, lake):
    before = versions_of(lake)
    write(spark, lake, CUSTOMER_TRUSTED, CUSTOMERS[:1])  # Bob and Cy withdraw: only Ann's current state consents
    done = purge_withdrawn(spark, lake, KEY)

    after = versions_of(lake)
    assert set(after) == set(before)  # no version lost
    for version, rows in before.items():
        assert sorted(map(str, after[version])) == sorted(str(row) for row in rows if not is_withdrawn(row)), version
    removed = {(r.table, r.version): r.rows_removed for r in done}
    assert removed == {(t.name, "paper"): sum(map(is_withdrawn, before[t.name, "paper"])) for t in TABLES}
    assert all(removed.values()), "every table held a withdrawn customer's rows"

    # Again: nothing left to remove. Then Ann withdraws too: the history of each re-issue accumulates.
    assert all(r.rows_removed == 0 and r.kept_because is None for r in purge_withdrawn(spark, lake, KEY))
    write(spark, lake, CUSTOMER_TRUSTED, [])
    purge_withdrawn(spark, lake, KEY)
    assert all(rows == [] for rows in versions_of(lake).values())
    (kept,) = versions(lake, TRAINING_SET)
    assert [entry["rows_removed"] for entry in kept.reissues] == [3, 1]


def test_versions_whose_customers_cannot_be_told_are_kept_as_they_are(spark, lake):
    before = versions_of(lake)
    write(spark, lake, CUSTOMER_TRUSTED, CUSTOMERS[:1])
    done = {(r.table, r.kept_because) for r in purge_withdrawn(spark, lake, "another key") if r.kept_because}
    # The pseudonymous tables are kept as they are; the others need no key and are re-issued.
    assert {table for table, _ in done} == {"machine_learning_curated", "training_set"}
    assert all("another pseudonym key" in why for _, why in done)
    after = versions_of(lake)
    assert after["training_set", "paper"] == before["training_set", "paper"]
    assert len(after["customer_trusted", "paper"]) == 1


def test_a_version_with_a_retention_of_its_own_is_re_issued_and_told(spark, lake):
    """Expiry answers to such a ref's retention, not to maintenance's: a person must look."""
    iceberg = lake.iceberg(CUSTOMER_CURATED)
    iceberg.manage_snapshots().create_branch(
        iceberg.current_snapshot().snapshot_id, "mine", min_snapshots_to_keep=5
    ).commit()
    write(spark, lake, CUSTOMER_TRUSTED, CUSTOMERS[:1])
    done = {(r.table, r.version): r for r in purge_withdrawn(spark, lake, KEY)}
    assert done["customer_curated", "mine"].rows_removed == 2 and done["customer_curated", "mine"].retention
    assert needs_a_person(done["customer_curated", "mine"]) and not needs_a_person(done["customer_curated", "paper"])
    assert "retention of its own" in reissue_text(done["customer_curated", "mine"])
