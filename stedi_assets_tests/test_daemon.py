"""End to end, as a user runs it: `dagster dev` (webserver + daemon) with the landing sensor on.

Files dropped into the landing root become `all_zones` runs by themselves; the runs are watched
through GraphQL and the result is read from the lake's Iceberg tables with pyiceberg.
"""

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from stedi_assets.cli import main
from stedi_assets_tests.lake_contents import current_snapshots, landed_dates, table_rows, table_states
from stedi_assets_tests.servers import dagster_env, dagster_server, tool

pytestmark = pytest.mark.slow

SOURCES = ("customer", "accelerometer", "step_trainer")
STARTUP_TIMEOUT_S = 180
RUNS_TIMEOUT_S = 600
POLL_S = 1
ACTIVE = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"}

RUNS_QUERY = """{ runsOrError(filter: {pipelineName: "all_zones"}) { __typename
  ... on Runs { results { runId status tags { key value } } } ... on PythonError { message } } }"""
ASSETS_QUERY = """{ assetNodes { assetKey { path } partitionKeys
  assetMaterializations(limit: 100) { runId partition } } }"""


def _land(complete: Path, landing: Path, date: str) -> None:
    """Drop one ingest date of every source into landing, each file atomically (temp name, then rename)."""
    for source in SOURCES:
        target = landing / source / "landing" / f"ingest_date={date}"
        target.mkdir(parents=True, exist_ok=True)
        for file in sorted((complete / source / "landing" / f"ingest_date={date}").iterdir()):
            shutil.copyfile(file, target / f".{file.name}.part")  # a dot name: not a landing file yet
            os.rename(target / f".{file.name}.part", target / file.name)


def _files(lake: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(lake)): (p.stat().st_size, p.stat().st_mtime_ns) for p in lake.rglob("*") if p.is_file()}


def _rows(lake: Path, table: str) -> int:
    return len(table_rows(lake, table))


@pytest.fixture
def dev(tmp_path):
    """First ingest date landed, `dagster dev` started on it; yields (tmp, GraphQL helper, log tail)."""
    complete, landing = tmp_path / "complete", tmp_path / "landing"
    env = dagster_env(tmp_path / "home", landing, tmp_path / "lake")
    subprocess.run([tool("stedi"), "sample", "--out", str(complete)], env=env, check=True, timeout=120)
    _land(complete, landing, "2024-01-01")
    with dagster_server([tool("dagster"), "dev"], env, tmp_path / "dagster-dev.log", STARTUP_TIMEOUT_S) as server:
        yield tmp_path, server.query, server.tail


def _wait_for_runs(query, tail, lake: Path, date: str, earlier: set[str]) -> list[dict]:
    """Wait until a new sensor run succeeded, `date` is in the lake, and no `all_zones` run is still active."""
    deadline = time.monotonic() + RUNS_TIMEOUT_S
    while True:
        runs = query(RUNS_QUERY)["runsOrError"]
        assert runs["__typename"] == "Runs", runs
        runs = [{**r, "tags": {t["key"]: t["value"] for t in r["tags"]}} for r in runs["results"]]
        failed = [r for r in runs if r["status"] in ("FAILURE", "CANCELED")]
        assert not failed, f"runs failed: {failed}\n{tail()}"
        new = [r for r in runs if r["runId"] not in earlier]
        settled = any(r["status"] == "SUCCESS" for r in new) and not any(r["status"] in ACTIVE for r in runs)
        if settled and date in landed_dates(lake, "accelerometer"):  # the lake is read once the runs settle
            assert all(r["tags"].get("dagster/sensor_name") == "landing_sensor" for r in new), new
            return runs
        statuses = [(r["runId"][:8], r["status"]) for r in runs]
        assert time.monotonic() < deadline, f"runs not done after {RUNS_TIMEOUT_S}s: {statuses}\n{tail()}"
        time.sleep(POLL_S)


def _materialized(query) -> dict[str, dict]:
    """Asset name -> {"partitions": registered keys, "materialized": {(runId, partition)}}."""
    return {
        node["assetKey"]["path"][-1]: {
            "partitions": node["partitionKeys"],
            "materialized": {(m["runId"], m["partition"]) for m in node["assetMaterializations"]},
        }
        for node in query(ASSETS_QUERY)["assetNodes"]
    }


TABLES = [f"{source}_{zone}" for zone in ("landing", "trusted") for source in SOURCES]


def test_landed_files_flow_into_the_lake_by_themselves(dev, spark, monkeypatch):
    """The sensor runs `all_zones` as ingest dates land: the first alone, then the second and third at once (the
    third updates customers: consent withdrawn, consent granted late, and a stale update); the lake then equals
    one rebuild from all files (invariant 2), and one more `stedi materialize` changes no file in it."""
    tmp, query, tail = dev
    lake = tmp / "lake"

    first_runs = {r["runId"] for r in _wait_for_runs(query, tail, lake, "2024-01-01", set())}
    assets = _materialized(query)
    for table in TABLES:
        assert {p for run, p in assets[table]["materialized"] if run in first_runs} == {"2024-01-01"}, table
    before = {table: _rows(lake, table) for table in TABLES}
    assert all(before.values()), before

    later = ["2024-01-02", "2024-01-03"]
    for date in later:
        _land(tmp / "complete", tmp / "landing", date)
    runs = _wait_for_runs(query, tail, lake, later[-1], first_runs)
    assert {r["runId"] for r in runs} - first_runs, "no new run after the later ingest dates landed"

    after = {table: _rows(lake, table) for table in TABLES}
    for table in ("accelerometer_landing", "accelerometer_trusted"):
        assert after[table] > before[table], (table, before[table], after[table])
    assert set(later) <= set(landed_dates(lake, "accelerometer"))
    assets = _materialized(query)
    for table in TABLES:
        assert assets[table]["partitions"] == ["2024-01-01", *later], (table, assets[table]["partitions"])
        new = {p for run, p in assets[table]["materialized"] if run not in first_runs}
        assert set(later) <= new, (table, new)

    monkeypatch.delenv("DAGSTER_HOME", raising=False)  # the runs below have no instance to show in

    def stedi_materialize(target: Path) -> None:
        """In this process, on the test session's Spark."""
        assert main(["materialize", "--landing", str(tmp / "landing"), "--lake", str(target)]) == 0

    stedi_materialize(tmp / "rebuild")  # one rebuild from all files
    assert table_states(lake) == table_states(tmp / "rebuild")
    assert all(table_states(lake).values())
    files_before, snapshots_before = _files(lake), current_snapshots(lake)
    stedi_materialize(lake)  # once more on the sensor's lake: nothing to change
    files_after = _files(lake)
    assert files_after == files_before, "the run after the sensor's changed files in the lake"
    assert current_snapshots(lake) == snapshots_before
