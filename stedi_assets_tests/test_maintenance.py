"""Invariant 5: once maintenance has run with a retention of N days, no stored file of a trusted or curated
table, current or from an older snapshot, holds a row of a customer whose consent ended more than N days
before. Every Parquet file under the lake's folders is read, whatever the catalog says about it."""

import json
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from stedi_assets.cli import main
from stedi_assets.sample import write_sample_landing
from stedi_assets_tests.lake_contents import table_rows
from stedi_assets_tests.reference import customer_key, pseudonym, reference_tables

pytestmark = pytest.mark.slow

KEY = "k"


def materialize(landing: Path, lake: Path) -> None:
    assert main(["materialize", "--landing", str(landing), "--lake", str(lake), "--pseudonym-key", KEY]) == 0


def files_holding(lake: Path, email: str, serial: str) -> list[str]:
    """The Parquet files of trusted and curated tables that hold a row of the customer."""
    holding = []
    for path in sorted([*(lake / "trusted").rglob("*.parquet"), *(lake / "curated").rglob("*.parquet")]):
        columns = pq.ParquetFile(path).read().to_pydict()  # the file alone: no partition discovery
        rows = [dict(zip(columns, values)) for values in zip(*columns.values())]
        if any(is_customers(row, email, serial) for row in rows):
            holding.append(str(path.relative_to(lake)))
    return holding


def is_customers(row: dict, email: str, serial: str | None = None) -> bool:
    """Whether a trusted or curated row belongs to the customer: by email, reading user, pseudonym or device."""
    key = customer_key(email)
    return (
        any(customer_key(row.get(name) or "") == key for name in ("email", "user"))
        or row.get("customer_id") == pseudonym(key, KEY)
        or (serial is not None and "sensorReadingTime" in row and row.get("serialNumber") == serial)
    )


def test_a_withdrawn_customer_is_physically_gone_after_maintenance(tmp_path, spark, capsys):
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    write_sample_landing(landing, customers=12, seed=2, ingest_dates=1)
    materialize(landing, lake)
    expected = reference_tables(landing, pseudonym_key=KEY)
    curated_emails = {row[1] for row in expected["customer_curated"]}
    customer = next(row for row in sorted(expected["customer_trusted"]) if row[1] in curated_emails)
    email, serial, last_update = customer[1], customer[4], customer[6]
    assert files_holding(lake, email, serial), "the customer's rows must be in the lake before withdrawing"

    # A later delivery: the customer withdraws consent.
    withdrawal = dict(zip(("customerName", "email", "phone", "birthDay", "serialNumber"), customer[:5]))
    withdrawal.update(registrationDate=customer[5], lastUpdateDate=last_update + 1, shareWithResearchAsOfDate=None)
    later = landing / "customer" / "landing" / "ingest_date=2099-01-01"
    later.mkdir(parents=True)
    (later / "withdrawal.json").write_text(json.dumps(withdrawal) + "\n")
    materialize(landing, lake)
    for table in ("customer_trusted", "accelerometer_trusted", "customer_curated", "machine_learning_curated"):
        assert not [row for row in table_rows(lake, table) if is_customers(row, email)], table
    old_files = files_holding(lake, email, serial)
    assert old_files, "older snapshots still reference files with the customer's rows"
    current = {
        table: sorted(map(str, table_rows(lake, table))) for table in ("customer_trusted", "machine_learning_curated")
    }

    assert main(["maintain", "--lake", str(lake), "--retain-days", "7"]) == 0
    assert files_holding(lake, email, serial) == old_files, "snapshots younger than the window are kept"

    assert main(["maintain", "--lake", str(lake), "--retain-days", "0"]) == 0
    assert "Expired snapshots older than 0 days" in capsys.readouterr().out
    assert files_holding(lake, email, serial) == []
    assert {table: sorted(map(str, table_rows(lake, table))) for table in current} == current
