"""The landing sensor with Dagster's sensor test context, against a real instance, real files and a real lake."""

import json
import os
import time

import dagster as dg
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.landing_files import LandingRoot, files_fingerprint, list_landing_files
from stedi_assets.schemas.tables import LANDING_TABLES, QUARANTINE_TABLES
from stedi_assets.sensors import new_landing_files
from stedi_assets.sensors.new_landing_files import landing_sensor
from stedi_assets.zones.landing import parsed_from

READING = '{"user": "a@x.com", "timestamp": 1, "x": 0.0, "y": 0.0, "z": 0.0}\n'


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def land(root, source: str, date: str, name: str, mtime_ns: int = 1_000_000_000):
    path = root / "landing" / source / "landing" / f"ingest_date={date}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(READING)
    os.utime(path, ns=(mtime_ns, mtime_ns))


def process(spark, landing_root: str, lake, source: str, date: str):
    """Record in the lake that `date` of `source` was parsed from the files now landed, as a run would."""
    files = [f for f in list_landing_files(landing_root, source) if f.ingest_date == date]
    for table in (LANDING_TABLES[source], QUARANTINE_TABLES[source]):
        no_rows = spark.createDataFrame([], table.spark_schema)
        Lake(str(lake)).replace_partitions(no_rows, table, [date], {date: parsed_from(files_fingerprint(files))})


def roots(tmp_path) -> tuple[str, str]:
    return str(tmp_path / "landing"), str(tmp_path / "lake")


def tick(instance, landing_root: str, lake, cursor=None):
    """One evaluation of the sensor; applies its partition requests like the daemon does."""
    context = dg.build_sensor_context(
        instance=instance,
        cursor=cursor,
        resources={"landing_root": LandingRoot(root=landing_root), "lake": Lake(str(lake))},
    )
    result = landing_sensor.evaluate_tick(context)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    for event in result.asset_events:
        instance.report_runless_asset_event(event)
    return result


def covered_range(result):
    (request,) = result.run_requests
    return request.tags[ASSET_PARTITION_RANGE_START_TAG], request.tags[ASSET_PARTITION_RANGE_END_TAG]


def test_new_files_of_all_sources_register_their_dates_and_request_one_run(instance, tmp_path):
    land(tmp_path, "accelerometer", "2024-01-02", "a-2.json")
    land(tmp_path, "accelerometer", "2024-01-01", "a-1.json")
    land(tmp_path, "customer", "2024-01-01", "c-1.json")
    result = tick(instance, *roots(tmp_path))
    assert instance.get_dynamic_partitions("ingest_date") == ["2024-01-01", "2024-01-02"]
    assert covered_range(result) == ("2024-01-01", "2024-01-02")
    assert set(json.loads(result.cursor)) == {
        "accelerometer/2024-01-01",
        "accelerometer/2024-01-02",
        "customer/2024-01-01",
    }


def test_nothing_new_skips(instance, tmp_path, spark):
    (tmp_path / "landing").mkdir()
    assert tick(instance, *roots(tmp_path)).skip_message == "no new or changed landing files"
    land(tmp_path, "customer", "2024-01-01", "c-1.json")
    first = tick(instance, *roots(tmp_path))
    assert first.run_requests
    # While the requested run has not processed the files yet, they are not handed on again.
    assert not tick(instance, *roots(tmp_path), first.cursor).run_requests
    process(spark, *roots(tmp_path), "customer", "2024-01-01")
    done = tick(instance, *roots(tmp_path), first.cursor)
    assert not done.run_requests and json.loads(done.cursor or "{}") == {}


def fail_a_run(instance, run_key: str) -> None:
    """A real failed run in the instance, with the run key the sensor asked for (as a failed `all_zones` run
    and its failed retries have)."""

    @dg.op
    def breaks():
        raise RuntimeError("the lake is unreachable")

    @dg.job
    def all_zones_stand_in():
        breaks()

    result = all_zones_stand_in.execute_in_process(
        instance=instance, tags={"dagster/run_key": run_key}, raise_on_error=False
    )
    assert not result.success


def test_a_failed_run_is_asked_for_again_after_a_while_and_not_in_a_loop(instance, tmp_path, monkeypatch):
    land(tmp_path, "customer", "2024-01-01", "c-1.json")
    first = tick(instance, *roots(tmp_path))
    (request,) = first.run_requests
    assert not tick(instance, *roots(tmp_path), first.cursor).run_requests  # the run is queued: nothing new
    fail_a_run(instance, request.run_key)
    assert not tick(instance, *roots(tmp_path), first.cursor).run_requests  # it just failed: not at once
    later = time.time() + new_landing_files.RETRY_FAILED_AFTER + 1
    monkeypatch.setattr(new_landing_files.time, "time", lambda: later)
    again = tick(instance, *roots(tmp_path), first.cursor)
    (retry,) = again.run_requests
    assert retry.run_key != request.run_key and covered_range(again) == covered_range(first)
    assert not tick(instance, *roots(tmp_path), again.cursor).run_requests  # its run has not failed yet


def test_the_cursor_survives_a_restart_and_only_new_files_are_handed_on(instance, tmp_path):
    land(tmp_path, "step_trainer", "2024-01-01", "s-1.json")
    cursor = tick(instance, *roots(tmp_path)).cursor
    land(tmp_path, "step_trainer", "2024-01-02", "s-2.json")
    result = tick(instance, *roots(tmp_path), cursor)  # a restarted daemon has only the stored cursor
    assert set(json.loads(result.cursor)) == {"step_trainer/2024-01-01", "step_trainer/2024-01-02"}
    assert result.run_requests and instance.get_dynamic_partitions("ingest_date") == ["2024-01-01", "2024-01-02"]
    assert not tick(instance, *roots(tmp_path), result.cursor).run_requests


def test_a_late_file_in_an_old_date_is_picked_up_even_with_an_old_modification_time(instance, tmp_path, spark):
    land(tmp_path, "accelerometer", "2024-01-01", "a-1.json", mtime_ns=5_000_000_000)
    land(tmp_path, "accelerometer", "2024-01-02", "a-2.json", mtime_ns=5_000_000_000)
    cursor = tick(instance, *roots(tmp_path)).cursor
    for date in ("2024-01-01", "2024-01-02"):
        process(spark, *roots(tmp_path), "accelerometer", date)
    land(tmp_path, "accelerometer", "2024-01-01", "a-late.json", mtime_ns=1_000_000_000)  # as `cp -p` would
    result = tick(instance, *roots(tmp_path), cursor)
    assert set(json.loads(result.cursor)) == {"accelerometer/2024-01-01"}
    assert not result.dynamic_partitions_requests
    assert covered_range(result) == ("2024-01-01", "2024-01-01")  # the run targets the changed date alone


def test_many_files_are_fingerprinted_in_one_tick(instance, tmp_path):
    for n in range(2000):
        land(tmp_path, "accelerometer", f"2024-01-{n % 28 + 1:02d}", f"a-{n}.json")
    result = tick(instance, *roots(tmp_path))
    assert len(json.loads(result.cursor)) == 28
    assert len(instance.get_dynamic_partitions("ingest_date")) == 28


def test_a_tick_records_what_the_instance_has_not_seen_of_the_lake_once(instance, tmp_path, spark):
    """Tables written elsewhere (here: by no run of this instance) show as materialized in each partition the
    lake holds, with the lake's snapshot; the next tick, having seen them, records nothing."""
    for date in ("2024-01-01", "2024-01-02"):
        land(tmp_path, "customer", date, f"c-{date}.json")
        process(spark, str(tmp_path / "landing"), tmp_path / "lake", "customer", date)
    lake = Lake(str(tmp_path / "lake"))
    result = tick(instance, *roots(tmp_path))
    learned = {(event.asset_key.path[-1], event.partition): event.metadata for event in result.asset_events}
    tables = (LANDING_TABLES["customer"], QUARANTINE_TABLES["customer"])
    assert set(learned) == {(table.name, date) for table in tables for date in ("2024-01-01", "2024-01-02")}
    for (name, _), values in learned.items():
        (table,) = [table for table in tables if table.name == name]
        assert values["iceberg_snapshot_id"].value == str(lake.pin(table).snapshot_id)
        assert values["dagster/partition_row_count"].value == 0
    assert instance.get_dynamic_partitions("ingest_date") == ["2024-01-01", "2024-01-02"]
    assert instance.get_materialized_partitions(dg.AssetKey("customer_landing")) == {"2024-01-01", "2024-01-02"}
    assert tick(instance, *roots(tmp_path)).asset_events == []
