"""`--spark-master warm`: runs share one local Spark Connect server, started by the first, stopped once idle,
and build the tables the reference implementation computes. Which Spark wrote a commit, the lake says: Iceberg
keeps the writer's `spark.app.id` in each snapshot's summary."""

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.sample import write_sample_landing
from stedi_assets.schemas.tables import LANDING_TABLES
from stedi_assets.warm_spark import IDLE_ENV, SERVERS_ENV
from stedi_assets_tests.lake_contents import TABLE_FIELDS, lake_table
from stedi_assets_tests.reference import reference_tables
from stedi_assets_tests.servers import caller_env
from stedi_assets_tests.test_jvm_classes import stedi_materialize

KEY = "test-key"


def warm_env(tmp_path: Path, idle_seconds: int) -> dict[str, str]:
    env = {k: v for k, v in caller_env().items() if k != "DAGSTER_HOME"}
    return {**env, SERVERS_ENV: str(tmp_path / "servers"), IDLE_ENV: str(idle_seconds)}


def stedi_materialize_warm(landing: Path, lake: Path, env: dict) -> subprocess.CompletedProcess:
    return stedi_materialize(landing, lake, env, "--spark-master", "warm", "--pseudonym-key", KEY)


def writers(lake: Path) -> list[str]:
    """The Spark application of each commit of accelerometer_landing, oldest first."""
    table = Lake(str(lake)).iceberg(LANDING_TABLES["accelerometer"])
    return [snapshot.summary.additional_properties["spark.app.id"] for snapshot in table.snapshots()]


def gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(1)
    return False


@pytest.mark.slow
def test_runs_share_one_warm_server_that_stops_when_idle(tmp_path):
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    write_sample_landing(landing, customers=30, seed=4)
    env = warm_env(tmp_path, idle_seconds=15)
    first = stedi_materialize_warm(landing, lake, env)
    assert first.returncode == 0, first.stderr[-3000:]
    (folder,) = (tmp_path / "servers").iterdir()
    server = json.loads((folder / "server.json").read_text())
    # A delivery on a new date: a file of the last one, again.
    (last,) = sorted((landing / "accelerometer" / "landing").iterdir())[-1:]
    shutil.copytree(last, landing / "accelerometer" / "landing" / "ingest_date=2024-01-04")
    second = stedi_materialize_warm(landing, lake, env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert json.loads((folder / "server.json").read_text()) == server  # the same server, still up

    # Both runs wrote from the one server's Spark, and it computed what the reference does.
    assert len(writers(lake)) == 2 and len(set(writers(lake))) == 1
    expected = reference_tables(landing, pseudonym_key=KEY)
    for table in TABLE_FIELDS:
        assert lake_table(lake, table) == expected[table], table
    assert gone(server["pid"], timeout=120), "the server did not stop when idle"
    assert not (folder / "server.json").exists()


def test_a_warm_server_that_cannot_start_fails_the_run_with_its_cause(tmp_path):
    landing = tmp_path / "landing"
    write_sample_landing(landing, customers=3, seed=4)
    env = {**warm_env(tmp_path, idle_seconds=5), "JAVA_HOME": str(tmp_path / "no-java")}
    run = stedi_materialize_warm(landing, tmp_path / "lake", env)
    assert run.returncode == 1
    assert "FAILED before any step: the warm Spark server did not start: " in run.stderr
    assert "Java gateway process exited" in run.stderr and "Error:" not in run.stderr, run.stderr
    (folder,) = (tmp_path / "servers").iterdir()
    assert not (folder / "server.json").exists()
