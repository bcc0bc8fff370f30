"""Invariant 4: a run killed at any point leaves every table as before it or as after it.

Real processes are SIGKILLed (with their JVM) at many points of a materialization;
after each kill every table, read through the lake, must equal either its
version before the run or its version after an uninterrupted run.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter

import pytest

from stedi_assets.definitions import ZONE_TABLES
from stedi_assets.lake import LocalLake
from stedi_assets.sample import write_sample_landing
from stedi_assets.transforms import empty_frame

KILL_POINTS = (0.15, 0.35, 0.55, 0.75, 0.95)


def start_materialize(landing, lake) -> subprocess.Popen:
    command = [sys.executable, "-m", "stedi_assets.cli", "materialize", "--landing", str(landing), "--lake", str(lake)]
    return subprocess.Popen(command, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def run_materialize(landing, lake) -> float:
    started = time.monotonic()
    assert start_materialize(landing, lake).wait(timeout=900) == 0
    return time.monotonic() - started


def snapshot(spark, lake) -> dict[str, Counter]:
    """Every zone table as the lake serves it (finishing or discarding an interrupted commit first)."""
    store = LocalLake(root=str(lake))
    return {table.name: Counter(map(tuple, store.read(spark, table).collect())) for table in ZONE_TABLES}


@pytest.fixture(scope="module")
def before_and_after(tmp_path_factory):
    """A lake with two ingest dates, and the landing folder after a third one arrives."""
    work = tmp_path_factory.mktemp("atomic")
    complete = work / "complete"
    write_sample_landing(complete, customers=30, seed=5)
    landing = work / "landing"
    for source_dir in complete.iterdir():
        for date_dir in sorted((source_dir / "landing").iterdir())[:2]:
            shutil.copytree(date_dir, landing / source_dir.name / "landing" / date_dir.name)
    lake_before = work / "lake-before"
    run_materialize(landing, lake_before)
    shutil.copytree(complete, landing, dirs_exist_ok=True)
    lake_after = work / "lake-after"
    shutil.copytree(lake_before, lake_after)
    duration = run_materialize(landing, lake_after)
    return landing, lake_before, lake_after, duration


def test_killed_runs_leave_each_table_before_or_after(before_and_after, spark, tmp_path):
    landing, lake_before, lake_after, duration = before_and_after
    before, after = snapshot(spark, lake_before), snapshot(spark, lake_after)
    assert before != after
    lake = tmp_path / "lake"
    shutil.copytree(lake_before, lake)
    for point in KILL_POINTS:
        run = start_materialize(landing, lake)
        time.sleep(point * duration)
        os.killpg(run.pid, signal.SIGKILL)
        run.wait()
        for name, rows in snapshot(spark, lake).items():
            assert rows in (before[name], after[name]), f"{name} is half-written after a kill at {point:.0%}"
    run_materialize(landing, lake)
    assert snapshot(spark, lake) == after


def test_two_runs_at_once_do_not_interleave(before_and_after, spark, tmp_path):
    landing, lake_before, _, _ = before_and_after
    lake = tmp_path / "lake"
    shutil.copytree(lake_before, lake)
    runs = [start_materialize(landing, lake) for _ in range(2)]
    assert [run.wait(timeout=900) for run in runs] == [0, 0]
    assert snapshot(spark, lake) == snapshot(spark, before_and_after[2])


def test_the_state_of_a_table_includes_a_commit_a_killed_run_left(spark, tmp_path, monkeypatch):
    """Incremental runs decide what to recompute from the state: it must not predate a pending commit."""
    table = ZONE_TABLES[0]
    lake = LocalLake(str(tmp_path))
    rows = empty_frame(spark, table.spark_schema)

    def kill(path, plan):
        raise Exception("killed after the commit point")

    monkeypatch.setattr(LocalLake, "_apply", staticmethod(kill))
    with pytest.raises(Exception, match="killed"):
        lake.replace_partitions(rows, table, ["2024-01-01"], {"2024-01-01": {"note": "new"}})
    monkeypatch.undo()
    assert lake.state(table)["2024-01-01"]["note"] == "new"


def test_temporary_files_a_killed_write_left_are_deleted_on_the_next_access(spark, tmp_path):
    table = ZONE_TABLES[0]
    lake = LocalLake(str(tmp_path))
    folder = lake.table_path(table)
    folder.mkdir(parents=True)
    leftovers = [folder / "._state.json.0123abcd", folder / "._commit.json.4567ef01"]
    for leftover in leftovers:
        leftover.write_text('{"2024-01-01": {"ro')  # killed mid-write, before the rename
    assert lake.read(spark, table).count() == 0
    assert [path.name for path in folder.iterdir() if path.name.startswith(".")] == []
