"""`stedi materialize` end to end: real Spark, real Parquet, a real (ephemeral) Dagster instance.

Expected counts come from the data contract; expected rows from the independent reference
implementation in `reference.py`.
"""

import gc
import hashlib
import json
import shutil
from collections import Counter
from pathlib import Path

import pytest

from stedi_assets.cli import main, run
from stedi_assets.lake.catalog import LakeCatalog
from stedi_assets.sample import write_sample_landing
from stedi_assets.schemas.tables import ALL_TABLES, SPLITS, ZONE_TABLES
from stedi_assets_tests.conftest import COLUMN_OPTIONS, CONTRACT_COUNTS
from stedi_assets_tests.lake_contents import TABLE_FIELDS, current_snapshots, lake_table, landed_dates, table_rows
from stedi_assets_tests.reference import CONTRACT_FIELDS, reference_tables

OPTION_FLAGS = {
    "default": [],
    "ml_join=timestamp": ["--ml-join", "timestamp"],
    "consent_cutoff=on": ["--consent-cutoff"],
}


def quarantined_lines(lake: Path, source: str) -> Counter:
    return Counter((row["source_file"], row["line_number"]) for row in table_rows(lake, f"{source}_quarantine"))


def printed_counts(output: str) -> dict[str, int]:
    rows = [line.split() for line in output.splitlines()]
    return {row[0]: int(row[1]) for row in rows if len(row) == 2 and row[0] in TABLE_FIELDS}


def lake_snapshot(lake: Path) -> dict[str, str]:
    return {
        str(p.relative_to(lake)): hashlib.sha256(p.read_bytes()).hexdigest() for p in lake.rglob("*") if p.is_file()
    }


def materialize(landing: Path, lake: Path, *flags: str) -> int:
    return main(["materialize", "--landing", str(landing), "--lake", str(lake), "--pseudonym-key", "test-key", *flags])


@pytest.mark.slow
@pytest.mark.parametrize("column", list(OPTION_FLAGS))
def test_starter_data_gives_the_contract_tables(column, starter_data, tmp_path, spark, capsys):
    lake = tmp_path / "lake"
    assert materialize(starter_data, lake, "--expect", "stedi-starter", *OPTION_FLAGS[column]) == 0
    assert printed_counts(capsys.readouterr().out) == CONTRACT_COUNTS[column]

    expected = reference_tables(starter_data, pseudonym_key="test-key", **COLUMN_OPTIONS[column])
    for table in TABLE_FIELDS:
        assert lake_table(lake, table) == expected[table], table


@pytest.mark.slow
def test_sample_data_matches_the_reference_and_reruns_change_nothing(tmp_path, spark, capsys):
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    write_sample_landing(landing, customers=40, seed=3)
    spark.conf.set("spark.sql.codegen.wholeStage", "true")  # Spark's defaults
    spark.conf.set("spark.sql.codegen.factoryMode", "FALLBACK")
    assert materialize(landing, lake) == 0
    # The run's session is this one (getOrCreate), set up for tiny landing data: no generated code.
    assert spark.conf.get("spark.sql.codegen.wholeStage") == "false"
    assert spark.conf.get("spark.sql.codegen.factoryMode") == "NO_CODEGEN"
    first_counts = printed_counts(capsys.readouterr().out)

    expected = reference_tables(landing, pseudonym_key="test-key")
    for table in TABLE_FIELDS:
        assert lake_table(lake, table) == expected[table], table
    for source in CONTRACT_FIELDS:
        assert quarantined_lines(lake, source) == expected[f"{source}_quarantine"], source
    assert sum(expected["accelerometer_quarantine"].values()) > 0, "the sample has a truncated line"
    assert landed_dates(lake, "accelerometer") == {f"2024-01-0{day}" for day in (1, 2, 3)}
    # training_set on the sample's messy dates (consent given and withdrawn by later updates): every split used,
    # no customer in two.
    splits = Counter((row["customer_id"], row["split"]) for row in table_rows(lake, "training_set"))
    assert {split for _, split in splits} == set(SPLITS)
    assert len({customer for customer, _ in splits}) == len(splits)

    # Readers outside Dagster see the contract's column docs and required columns (pyiceberg here).
    catalog = LakeCatalog(str(lake)).pyiceberg()
    for table in ALL_TABLES:
        fields = catalog.load_table(("stedi", table.name)).schema().fields
        assert {field.name: field.doc for field in fields} == table.column_docs, table.name
        required = {field.name for field in table.spark_schema if not field.nullable}
        assert {field.name for field in fields if field.required} == required, table.name

    before, snapshots = lake_snapshot(lake), current_snapshots(lake)
    assert materialize(landing, lake) == 0
    assert "up to date" in capsys.readouterr().out
    assert lake_snapshot(lake) == before

    # A run asked for anyway (a profile's checks run with a run), whose counts come from the reference.
    profile = tmp_path / "sample-profile.json"
    counts = {table.name: sum(expected[table.name].values()) for table in ZONE_TABLES}
    profile.write_text(json.dumps({"counts": {"default": counts}}))
    assert materialize(landing, lake, "--expect", str(profile)) == 0
    rerun = capsys.readouterr()
    assert "up to date" not in rerun.out
    assert printed_counts(rerun.out) == first_counts
    assert current_snapshots(lake) == snapshots  # computed again, and nothing committed
    for table in TABLE_FIELDS:
        assert lake_table(lake, table) == expected[table], f"{table} after a forced re-run"

    # A date's files taken back: its partitions are emptied, as a rebuild from the files left would have it.
    for source in CONTRACT_FIELDS:
        shutil.rmtree(landing / source / "landing" / "ingest_date=2024-01-03")
    assert materialize(landing, lake) == 0
    assert landed_dates(lake, "accelerometer") == {"2024-01-01", "2024-01-02"}
    expected = reference_tables(landing, pseudonym_key="test-key")
    for table in TABLE_FIELDS:
        assert lake_table(lake, table) == expected[table], f"{table} after files were taken back"

    # Other options: the lake says its derived tables were built with the old ones, so it is not up to date.
    assert materialize(landing, lake, "--consent-cutoff") == 0
    assert "up to date" not in capsys.readouterr().out
    expected = reference_tables(landing, pseudonym_key="test-key", consent_cutoff=True)
    for table in TABLE_FIELDS:
        assert lake_table(lake, table) == expected[table], f"{table} with consent_cutoff on"
    assert materialize(landing, lake, "--consent-cutoff") == 0
    assert "up to date" in capsys.readouterr().out


@pytest.mark.slow
def test_a_failing_error_check_makes_the_command_fail(tmp_path, capsys):
    landing = tmp_path / "landing"
    write_sample_landing(landing, customers=20, seed=1)
    assert materialize(landing, tmp_path / "lake", "--expect", "stedi-starter") == 1
    assert "expected_row_count" in capsys.readouterr().err


def test_bad_landing_root_is_one_clear_line(tmp_path, capsys):
    assert materialize(tmp_path / "missing", tmp_path / "lake") == 2
    assert capsys.readouterr().err.strip() == f"stedi: landing root {tmp_path / 'missing'} is not a readable folder"
    assert not (tmp_path / "lake").exists()


def test_the_command_exits_with_mains_status_and_no_final_collection():
    """`stedi`'s process (`cli.run`) exits with `main`'s status, its heap frozen so that Python's exit does not
    collect it (`gc.freeze`); tests that call `main` in their own process are left as they are."""
    assert gc.get_freeze_count() == 0
    try:
        with pytest.raises(SystemExit) as exited:
            run(lambda: 3)
        assert exited.value.code == 3
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
