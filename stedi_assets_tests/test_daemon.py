"""End to end, as a user runs it: `dagster dev` (webserver + daemon) with the landing sensor on.

Files dropped into the landing root become `all_zones` runs by themselves; the runs are watched
through GraphQL and the result is read from the lake's Parquet files.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import requests

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
SOURCES = ("customer", "accelerometer", "step_trainer")
STARTUP_TIMEOUT_S = 180
RUNS_TIMEOUT_S = 600
ACTIVE = {"QUEUED", "NOT_STARTED", "STARTING", "STARTED", "CANCELING"}

RUNS_QUERY = """{ runsOrError(filter: {pipelineName: "all_zones"}) { __typename
  ... on Runs { results { runId status tags { key value } } } ... on PythonError { message } } }"""
ASSETS_QUERY = """{ assetNodes { assetKey { path } partitionKeys
  assetMaterializations(limit: 100) { runId partition } } }"""


def _tool(name: str) -> str:
    """A console script of this venv (falling back to PATH)."""
    return str(BIN / name) if (BIN / name).exists() else shutil.which(name) or name


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _land(complete: Path, landing: Path, date: str) -> None:
    """Drop one ingest date of every source into landing, each file atomically (temp name, then rename)."""
    for source in SOURCES:
        target = landing / source / "landing" / f"ingest_date={date}"
        target.mkdir(parents=True, exist_ok=True)
        for file in sorted((complete / source / "landing" / f"ingest_date={date}").iterdir()):
            shutil.copyfile(file, target / f".{file.name}.part")  # a dot name: not a landing file yet
            os.rename(target / f".{file.name}.part", target / file.name)


def _rows(lake: Path, zone: str, table: str) -> int:
    return sum(pq.read_metadata(f).num_rows for f in (lake / zone / table).glob("ingest_date=*/*.parquet"))


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM the whole process group (webserver, daemon, code servers, runs), then SIGKILL what lingers."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # children may still be shutting down
            os.killpg(server.pid, 0)
            time.sleep(1)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(server.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    server.wait(timeout=30)


@pytest.fixture
def dev(tmp_path):
    """First ingest date landed, `dagster dev` started on it; yields (tmp, GraphQL helper, log tail, run keys)."""
    complete, landing, home = tmp_path / "complete", tmp_path / "landing", tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEDI_")}
    env.update(DAGSTER_HOME=str(home), DAGSTER_DISABLE_TELEMETRY="1",
               STEDI_LANDING_ROOT=str(landing), STEDI_LAKE_ROOT=str(tmp_path / "lake"))
    subprocess.run([_tool("stedi"), "sample", "--out", str(complete)], env=env, check=True, timeout=120)
    _land(complete, landing, "2024-01-01")

    port, log_path = _free_port(), tmp_path / "dagster-dev.log"
    base = f"http://127.0.0.1:{port}"
    with open(log_path, "wb") as log:
        server = subprocess.Popen(
            [_tool("dagster"), "dev", "-w", str(REPO / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
            cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )

    def tail() -> str:
        return "\n".join(log_path.read_text(errors="replace").splitlines()[-60:])

    def query(text: str) -> dict:
        response = requests.post(f"{base}/graphql", json={"query": text}, timeout=60)
        response.raise_for_status()
        assert not response.json().get("errors"), response.json()["errors"]
        return response.json()["data"]

    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            assert server.poll() is None, f"dagster dev exited with {server.returncode}:\n{tail()}"
            try:
                if requests.get(f"{base}/server_info", timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, f"dagster dev not up after {STARTUP_TIMEOUT_S}s:\n{tail()}"
            time.sleep(2)
        yield tmp_path, query, tail
    finally:
        _stop(server)


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
        landed = (lake / "landing" / "accelerometer_landing" / f"ingest_date={date}").is_dir()
        if landed and any(r["status"] == "SUCCESS" for r in new) and not any(r["status"] in ACTIVE for r in runs):
            assert all(r["tags"].get("dagster/sensor_name") == "landing_sensor" for r in new), new
            return runs
        statuses = [(r["runId"][:8], r["status"]) for r in runs]
        assert time.monotonic() < deadline, f"runs not done after {RUNS_TIMEOUT_S}s: {statuses}\n{tail()}"
        time.sleep(5)


def _materialized(query) -> dict[str, dict]:
    """Asset name -> {"partitions": registered keys, "materialized": {(runId, partition)}}."""
    return {
        node["assetKey"]["path"][-1]: {
            "partitions": node["partitionKeys"],
            "materialized": {(m["runId"], m["partition"]) for m in node["assetMaterializations"]},
        }
        for node in query(ASSETS_QUERY)["assetNodes"]
    }


TABLES = [(zone, f"{source}_{zone}") for zone in ("landing", "trusted") for source in SOURCES]


def test_landed_files_flow_into_the_lake_by_themselves(dev):
    """The sensor runs `all_zones` for the first ingest date, then again when the second one lands."""
    tmp, query, tail = dev
    lake = tmp / "lake"

    first_runs = {r["runId"] for r in _wait_for_runs(query, tail, lake, "2024-01-01", set())}
    assets = _materialized(query)
    for _, table in TABLES:
        assert {p for run, p in assets[table]["materialized"] if run in first_runs} == {"2024-01-01"}, table
    before = {table: _rows(lake, zone, table) for zone, table in TABLES}
    assert all(before.values()), before

    _land(tmp / "complete", tmp / "landing", "2024-01-02")
    runs = _wait_for_runs(query, tail, lake, "2024-01-02", first_runs)
    assert {r["runId"] for r in runs} - first_runs, "no new run after the second ingest date landed"

    after = {table: _rows(lake, zone, table) for zone, table in TABLES}
    for table in ("accelerometer_landing", "accelerometer_trusted"):
        assert after[table] > before[table], (table, before[table], after[table])
    assert (lake / "landing" / "accelerometer_landing" / "ingest_date=2024-01-02").is_dir()
    assets = _materialized(query)
    for _, table in TABLES:
        assert assets[table]["partitions"] == ["2024-01-01", "2024-01-02"], (table, assets[table]["partitions"])
        new = {p for run, p in assets[table]["materialized"] if run not in first_runs}
        assert "2024-01-02" in new, (table, new)
