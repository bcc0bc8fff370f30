"""Invariants 5 and 8: once maintenance has run with a retention of N days, no stored file of a trusted or
curated table, current, from an older snapshot or of a kept version (training_set's own tags, and tags and
branches made by hand), holds a row of a customer whose consent ended more than N days before; every kept
version stays, re-issued without them. Every Parquet file under the lake's folders is read, whatever the
catalog says about it."""

import json
from pathlib import Path

import dagster as dg
import pyarrow.parquet as pq
import pytest

from stedi_assets.cli import main
from stedi_assets.instance import open_instance
from stedi_assets.jobs import maintain_lake
from stedi_assets.lake.catalog import DEFAULT_NAMESPACE, LakeCatalog
from stedi_assets.resources import local_resources
from stedi_assets.sample import write_sample_landing
from stedi_assets.schemas.tables import SPLITS
from stedi_assets_tests.lake_contents import kept_versions, table_rows
from stedi_assets_tests.reference import customer_key, pseudonym, reference_tables
from stedi_assets_tests.test_bad_input import stedi_process

pytestmark = pytest.mark.slow

KEY = "k"
DERIVED = (
    "customer_trusted",
    "accelerometer_trusted",
    "step_trainer_trusted",
    "customer_curated",
    "machine_learning_curated",
    "training_set",
)


def iceberg_table(lake: Path, name: str):
    return LakeCatalog(str(lake), DEFAULT_NAMESPACE).pyiceberg().load_table((DEFAULT_NAMESPACE, name))


def all_kept_versions(lake: Path) -> dict[tuple[str, str], list[dict]]:
    """Every kept version of every trusted and curated table, with its rows."""
    return {(name, ref): rows for name in DERIVED for ref, rows in kept_versions(lake, name).items()}


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
    # Versions people keep by hand: a tag of machine_learning_curated, a branch of accelerometer_trusted.
    for name, make in (("machine_learning_curated", "create_tag"), ("accelerometer_trusted", "create_branch")):
        table = iceberg_table(lake, name)
        getattr(table.manage_snapshots(), make)(table.current_snapshot().snapshot_id, "paper-2024").commit()

    # A later delivery: the customer withdraws consent.
    withdrawal = dict(zip(("customerName", "email", "phone", "birthDay", "serialNumber"), customer[:5]))
    withdrawal.update(registrationDate=customer[5], lastUpdateDate=last_update + 1, shareWithResearchAsOfDate=None)
    later = landing / "customer" / "landing" / "ingest_date=2099-01-01"
    later.mkdir(parents=True)
    (later / "withdrawal.json").write_text(json.dumps(withdrawal) + "\n")
    materialize(landing, lake)
    versions = all_kept_versions(lake)
    assert {ref for table, ref in versions if table == "training_set"} == {"v1", "v2"}, "a tag per version"
    with open_instance(str(lake)) as instance:  # the materialization names its version
        event = instance.get_latest_materialization_event(dg.AssetKey("training_set"))
    tagged = iceberg_table(lake, "training_set").metadata.refs["v2"].snapshot_id
    assert event.asset_materialization.metadata["version"].value == "v2"
    assert event.asset_materialization.metadata["version_snapshot_id"].value == str(tagged)
    assert [version for version, rows in versions.items() if any(is_customers(row, email) for row in rows)]
    for table in ("customer_trusted", "accelerometer_trusted", "customer_curated", "machine_learning_curated"):
        assert not [row for row in table_rows(lake, table) if is_customers(row, email)], table
    old_files = files_holding(lake, email, serial)
    assert old_files, "older snapshots still reference files with the customer's rows"
    current = {
        table: sorted(map(str, table_rows(lake, table))) for table in ("customer_trusted", "machine_learning_curated")
    }

    # With another key, the curated tables' customers cannot be told: their versions are kept as they are.
    wrong = main(["maintain", "--lake", str(lake), "--retain-days", "7", "--pseudonym-key", "another"])
    assert wrong == 1 and "training_set: kept as it is: made with another pseudonym key" in capsys.readouterr().out
    assert {v: rows for v, rows in all_kept_versions(lake).items() if v[0] == "training_set"} == {
        v: rows for v, rows in versions.items() if v[0] == "training_set"
    }

    # Dagster's maintenance job re-issues the kept versions as the CLI does.
    run_config = {"ops": {"expire_snapshots_and_orphan_files": {"config": {"retain_days": 7}}}}
    result = maintain_lake.execute_in_process(
        run_config, resources=local_resources(str(landing), str(lake), pseudonym_key=KEY)
    )
    assert result.success
    assert files_holding(lake, email, serial) == old_files, "snapshots younger than the window are kept"
    reissued = {version: sorted(map(str, rows)) for version, rows in all_kept_versions(lake).items()}

    assert maintain(lake, 0) == 0
    output = capsys.readouterr().out
    assert "Expired snapshots older than 0 days" in output
    assert "Kept version v1 of training_set: nothing to remove" in output  # re-issued already
    assert files_holding(lake, email, serial) == []
    assert {table: sorted(map(str, table_rows(lake, table))) for table in current} == current
    without_customer = {
        version: sorted(map(str, (row for row in rows if not is_customers(row, email))))
        for version, rows in versions.items()
    }
    assert {version: sorted(map(str, rows)) for version, rows in all_kept_versions(lake).items()} == without_customer
    assert reissued == without_customer

    # The list tells each version and its re-issue; an export holds the version's rows, one file per split.
    listed = stedi_process("training-set", "list", "--lake", str(lake))
    assert listed.returncode == 0, listed.stderr
    lines = {line.split()[0]: line for line in listed.stdout.splitlines()[2:-1]}
    assert set(lines) == {"v1", "v2"} and "customers who no longer consent" in lines["v1"], listed.stdout
    exported = stedi_process(
        "training-set", "export", "--lake", str(lake), "--tag", "v1", "--out", str(tmp_path / "v1")
    )
    assert exported.returncode == 0, exported.stderr
    by_split = {split: pq.read_table(tmp_path / "v1" / f"{split}.parquet").to_pylist() for split in SPLITS}
    assert all(row["split"] == split for split, rows in by_split.items() for row in rows)
    assert (
        sorted(map(str, (row for rows in by_split.values() for row in rows))) == without_customer["training_set", "v1"]
    )


def maintain(lake: Path, retain_days: float) -> int:
    return main(["maintain", "--lake", str(lake), "--retain-days", str(retain_days), "--pseudonym-key", KEY])
