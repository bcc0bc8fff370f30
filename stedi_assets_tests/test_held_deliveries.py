"""Invariants 6 and 7 end to end: a broken delivery is held, in the lake, across runs and Dagster instances,
until a person releases it or new files make it no longer broken; every other delivery flows.

Which delivery is broken comes from the contract's examples (60 bad of 100, 2 of 3), not from the code; the
expected tables from the independent reference implementation, told which deliveries are held.
"""

import json
import shutil
import subprocess
import sys
from collections import Counter
from pathlib import Path

import dagster as dg
import pytest

from stedi_assets.cli import main
from stedi_assets.definitions import build_definitions
from stedi_assets.jobs import partition_range_tags, release_held_delivery
from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.partitions import ingest_date_partitions
from stedi_assets.resources import local_resources
from stedi_assets.sample import write_sample_landing
from stedi_assets.schemas.tables import LANDING_TABLES
from stedi_assets.sensors.released_deliveries import released_delivery_sensor
from stedi_assets_tests.lake_contents import TABLE_FIELDS, current_snapshots, lake_table, table_rows
from stedi_assets_tests.reference import CONTRACT_FIELDS, reference_tables

pytestmark = pytest.mark.slow

KEY = "test-key"
NEW_DATE = "2024-02-01"


def materialize(landing: Path, lake: Path) -> int:
    return main(["materialize", "--landing", str(landing), "--lake", str(lake), "--pseudonym-key", KEY])


def assert_tables_are_the_references(lake: Path, landing: Path, held=frozenset()) -> None:
    expected = reference_tables(landing, pseudonym_key=KEY, held=held)
    for table in TABLE_FIELDS:
        assert lake_table(lake, table) == expected[table], table


def a_curated_customer(landing: Path) -> tuple[str, str]:
    """The email and device of a customer whose readings reach every table."""
    curated = reference_tables(landing, pseudonym_key=KEY)["customer_curated"]
    fields = CONTRACT_FIELDS["customer"]
    return min((row[fields.index("email")], row[fields.index("serialNumber")]) for row in curated)


def readings(email: str, first: int, count: int) -> list[str]:
    return [
        json.dumps({"user": email, "timestamp": first + 10 * n, "x": 1.0, "y": 2.0, "z": 3.0}) for n in range(count)
    ]


def land(landing: Path, source: str, date: str, name: str, lines: list[str]) -> None:
    folder = landing / source / "landing" / f"ingest_date={date}"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text("".join(f"{line}\n" for line in lines))


def rows_of(lake: Path, table: str, date: str) -> list[dict]:
    return [row for row in table_rows(lake, table) if row["ingest_date"] == date]


def test_a_broken_delivery_is_held_across_runs_and_instances_until_released(starter_data, tmp_path, spark, capsys):
    """The issue's case: 40 valid new readings of a consenting customer and 60 broken lines, after the starter
    data."""
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    shutil.copytree(starter_data, landing)
    email, _ = a_curated_customer(landing)
    new_readings = readings(email, 1_800_000_000_000, 40)
    broken = [f'{{"user": "{email}", "timestamp": "at {n}"}}' for n in range(60)]
    land(landing, "accelerometer", NEW_DATE, "accelerometer-new.json", new_readings + broken)
    held = {("accelerometer", NEW_DATE)}

    assert materialize(landing, lake) == 1
    error = capsys.readouterr().err
    (line,) = [line for line in error.splitlines() if "HELD" in line]
    assert f"accelerometer {NEW_DATE}: 60 of 100 lines quarantined" in line
    assert f"stedi release --lake {lake} --source accelerometer --date {NEW_DATE}" in line
    assert "dagster." not in error and "Error" not in error
    # Nothing lost: all 100 lines are landed or quarantined; none of the 40 readings went downstream.
    assert len(rows_of(lake, "accelerometer_landing", NEW_DATE)) == 40
    assert sorted(row["line_number"] for row in rows_of(lake, "accelerometer_quarantine", NEW_DATE)) == list(
        range(41, 101)
    )
    assert not [row for row in table_rows(lake, "accelerometer_trusted") if row["timestamp"] >= 1_800_000_000_000]
    assert_tables_are_the_references(lake, landing, held)

    # Held across a re-run, which commits nothing...
    before = current_snapshots(lake)
    assert materialize(landing, lake) == 1
    assert f"HELD accelerometer {NEW_DATE}" in capsys.readouterr().err
    assert current_snapshots(lake) == before

    # ... and across a run of every date from a Dagster instance that never saw the lake.
    resources = local_resources(str(landing), str(lake), pseudonym_key=KEY, landing_bytes=0)
    job = build_definitions(resources).resolve_job_def("all_zones")
    with dg.DagsterInstance.ephemeral() as instance:
        dates = sorted({row["ingest_date"] for row in table_rows(lake, "accelerometer_landing")})
        instance.add_dynamic_partitions(ingest_date_partitions.name, dates)
        result = job.execute_in_process(instance=instance, tags=partition_range_tags(dates))
    assert result.success
    (quality,) = [
        e.asset_check_evaluation_data
        for e in result.all_events
        if e.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION
        and e.asset_check_evaluation_data.check_name == "delivery_quality"
        and e.asset_check_evaluation_data.asset_key.path == ["accelerometer_landing"]
    ]
    assert not quality.passed and quality.severity == dg.AssetCheckSeverity.ERROR
    assert list(quality.metadata["held"].value) == [NEW_DATE]
    trusted = [m.metadata for m in result.asset_materializations_for_node("accelerometer_trusted")]
    assert trusted and all(m["deliveries_held"].value == [f"accelerometer {NEW_DATE}"] for m in trusted)
    assert current_snapshots(lake) == before

    # A person releases it (the CLI, as a process); the release is recorded in the lake.
    release = [sys.executable, "-m", "stedi_assets.cli", "release", "--lake", str(lake), "--source", "accelerometer"]
    released = subprocess.run([*release, "--date", NEW_DATE, "--by", "ann"], capture_output=True, text=True)
    assert released.returncode == 0, released.stderr
    assert f"Released accelerometer {NEW_DATE}" in released.stdout and "40 valid rows" in released.stdout
    history = Lake(str(lake)).iceberg(LANDING_TABLES["accelerometer"]).current_snapshot().summary
    assert history["stedi.released"].startswith(f"accelerometer {NEW_DATE} by ann at ")

    assert materialize(landing, lake) == 0
    assert "HELD" not in capsys.readouterr().err
    assert len([r for r in table_rows(lake, "accelerometer_trusted") if r["timestamp"] >= 1_800_000_000_000]) == 40
    assert_tables_are_the_references(lake, landing)


def small_customer_delivery() -> list[str]:
    """15 lines, 2 of them bad: a warning, not a broken delivery (the contract's example)."""
    customers = [
        json.dumps(
            {
                "customerName": f"New {n}",
                "email": f"new{n}@example.com",
                "serialNumber": f"new-{n}",
                "lastUpdateDate": 1_706_745_600_000,
                "shareWithResearchAsOfDate": 1_706_745_600_000,
            }
        )
        for n in range(13)
    ]
    return [*customers, '{"email": null, "customerName": "No key"}', '{"email": "cut@example.com", "custo']


def test_a_few_bad_lines_in_a_small_delivery_warn_and_every_table_is_built(tmp_path, spark, capsys):
    at_once, by_date = tmp_path / "at-once", tmp_path / "by-date"
    write_sample_landing(at_once / "landing", customers=20, seed=1)
    shutil.copytree(at_once / "landing", by_date / "landing")

    assert materialize(by_date / "landing", by_date / "lake") == 0
    for root in (at_once, by_date):
        land(root / "landing", "customer", NEW_DATE, "customer-small.json", small_customer_delivery())
        assert materialize(root / "landing", root / "lake") == 0
        output = capsys.readouterr()
        assert "WARN check failed: customer_landing:delivery_quality" in output.out and "HELD" not in output.err
        assert_tables_are_the_references(root / "lake", root / "landing")
        assert len(rows_of(root / "lake", "customer_trusted", NEW_DATE)) == 13


def test_a_replay_that_mends_a_delivery_lifts_its_hold_and_the_release_job_lifts_another(tmp_path, spark, capsys):
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    write_sample_landing(landing, customers=20, seed=1)
    email, serial = a_curated_customer(landing)
    land(landing, "accelerometer", NEW_DATE, "accelerometer-a.json", [*readings(email, 1, 1), "{", "{"])
    steps = [json.dumps({"sensorReadingTime": 5, "serialNumber": serial, "distanceFromObject": 1}), "[", "]"]
    land(landing, "step_trainer", NEW_DATE, "step_trainer-a.json", steps)

    assert materialize(landing, lake) == 1  # 2 bad of 3, in both
    held = [line for line in capsys.readouterr().err.splitlines() if "HELD" in line]
    assert [line.split(": ")[1] for line in held] == [f"HELD accelerometer {NEW_DATE}", f"HELD step_trainer {NEW_DATE}"]
    assert_tables_are_the_references(lake, landing, {("accelerometer", NEW_DATE), ("step_trainer", NEW_DATE)})

    # Fixed lines replayed in a new file of that date: 2 bad of 43 is no longer broken.
    land(landing, "accelerometer", NEW_DATE, "accelerometer-b.json", readings(email, 1_000_000, 40))
    assert materialize(landing, lake) == 1
    held = [line for line in capsys.readouterr().err.splitlines() if "HELD" in line]
    assert len(held) == 1 and f"HELD step_trainer {NEW_DATE}" in held[0]
    assert_tables_are_the_references(lake, landing, {("step_trainer", NEW_DATE)})

    # The other is released from Dagster (the UI's launchpad runs this job with this config).
    config = {"source": "step_trainer", "date": NEW_DATE, "released_by": "ann"}
    with dg.DagsterInstance.ephemeral() as instance:
        result = release_held_delivery.execute_in_process(
            run_config={"ops": {"release_delivery": {"config": config}}},
            resources={"lake": Lake(str(lake))},
            instance=instance,
        )
        assert result.success
        # A sensor then asks for the run that takes the released rows downstream.
        context = dg.build_run_status_sensor_context(
            sensor_name=released_delivery_sensor.name,
            dagster_event=result.get_run_success_event(),
            dagster_instance=instance,
            dagster_run=result.dagster_run,
        )
        request = released_delivery_sensor(context)
        assert request.tags == partition_range_tags([NEW_DATE]) and released_delivery_sensor.job_name == "all_zones"
        assert NEW_DATE in instance.get_dynamic_partitions(ingest_date_partitions.name)
    before = current_snapshots(lake)
    again = release_held_delivery.execute_in_process(
        run_config={"ops": {"release_delivery": {"config": config}}},
        resources={"lake": Lake(str(lake))},
        raise_on_error=False,
    )
    assert not again.success  # released already: a clear failure, and nothing committed
    assert "was released already" in again.failure_data_for_node("release_delivery").error.message
    assert current_snapshots(lake) == before

    assert materialize(landing, lake) == 0
    assert "HELD" not in capsys.readouterr().err
    assert_tables_are_the_references(lake, landing)
    landed = Counter(row["ingest_date"] for row in table_rows(lake, "accelerometer_landing"))
    assert landed[NEW_DATE] == 41
