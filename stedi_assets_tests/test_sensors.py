"""Landing sensors with Dagster's sensor test context, against a real instance and real files."""

import json
import os

import dagster as dg
import pytest
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

from stedi_assets.resources.settings import LandingRoot
from stedi_assets.sensors import landing as sensors_module
from stedi_assets.sensors.landing import landing_sensor

READING = '{"user": "a@x.com", "timestamp": 1, "x": 0.0, "y": 0.0, "z": 0.0}\n'


@pytest.fixture
def instance():
    with dg.instance_for_test() as instance:
        yield instance


def land(root, date: str, name: str, mtime: int):
    path = root / "accelerometer" / "landing" / f"ingest_date={date}" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(READING)
    os.utime(path, ns=(mtime, mtime))
    return path


def tick(instance, root, cursor=None):
    """One evaluation of the accelerometer sensor; applies its partition requests like the daemon does."""
    context = dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"landing_root": LandingRoot(root=str(root))}
    )
    result = landing_sensor("accelerometer").evaluate_tick(context)
    for request in result.dynamic_partitions_requests or []:
        instance.add_dynamic_partitions(request.partitions_def_name, list(request.partition_keys))
    return result


def covered_range(result):
    (request,) = result.run_requests
    return request.tags[ASSET_PARTITION_RANGE_START_TAG], request.tags[ASSET_PARTITION_RANGE_END_TAG]


def test_new_files_register_their_dates_and_request_one_run_over_every_date(instance, tmp_path):
    land(tmp_path, "2024-01-02", "a-2.json", 2_000)
    land(tmp_path, "2024-01-01", "a-1.json", 1_000)
    result = tick(instance, tmp_path)
    assert instance.get_dynamic_partitions("ingest_date") == ["2024-01-01", "2024-01-02"]
    assert covered_range(result) == ("2024-01-01", "2024-01-02")
    assert landing_sensor("accelerometer").job_name == "all_zones"
    assert json.loads(result.cursor) == [2_000, str(tmp_path / "accelerometer/landing/ingest_date=2024-01-02/a-2.json")]


def test_no_new_files_skips_and_keeps_the_cursor(instance, tmp_path):
    assert tick(instance, tmp_path).skip_message == "no new accelerometer files"
    land(tmp_path, "2024-01-01", "a-1.json", 1_000)
    first = tick(instance, tmp_path)
    again = tick(instance, tmp_path, first.cursor)
    assert not again.run_requests and again.cursor in (None, first.cursor)


def test_cursor_survives_a_restart_and_each_file_is_handed_on_once(instance, tmp_path):
    land(tmp_path, "2024-01-01", "a-1.json", 1_000)
    cursor = tick(instance, tmp_path).cursor
    land(tmp_path, "2024-01-02", "a-2.json", 2_000)
    # A restarted daemon evaluates with the stored cursor only.
    result = tick(instance, tmp_path, cursor)
    assert result.run_requests[0].run_key.endswith("a-2.json")
    assert instance.get_dynamic_partitions("ingest_date") == ["2024-01-01", "2024-01-02"]
    assert not tick(instance, tmp_path, result.cursor).run_requests


def test_a_file_landing_late_in_an_old_date_is_picked_up(instance, tmp_path):
    land(tmp_path, "2024-01-01", "a-1.json", 1_000)
    land(tmp_path, "2024-01-02", "a-2.json", 2_000)
    cursor = tick(instance, tmp_path).cursor
    land(tmp_path, "2024-01-01", "a-late.json", 3_000)
    result = tick(instance, tmp_path, cursor)
    assert result.run_requests[0].run_key.endswith("a-late.json")
    assert not result.dynamic_partitions_requests
    assert covered_range(result) == ("2024-01-01", "2024-01-02")


def test_a_large_listing_is_split_across_ticks(instance, tmp_path, monkeypatch):
    monkeypatch.setattr(sensors_module, "MAX_FILES_PER_TICK", 4)
    for n in range(10):
        land(tmp_path, f"2024-01-{n + 1:02d}", f"a-{n}.json", 1_000 + n)
    cursor, ticks = None, 0
    while (result := tick(instance, tmp_path, cursor)).run_requests:
        cursor, ticks = result.cursor, ticks + 1
    assert ticks == 3
    assert json.loads(cursor)[0] == 1_009
    assert len(instance.get_dynamic_partitions("ingest_date")) == 10
