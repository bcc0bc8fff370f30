"""End to end, as a user would: `stedi materialize` into a DAGSTER_HOME, then read it back in dagster-webserver.

The webserver loads `workspace.yaml` from the repo root; everything is checked through its GraphQL API.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
STARTUP_TIMEOUT_S = 120

GROUPS = {
    "customer_landing": "landing", "accelerometer_landing": "landing", "step_trainer_landing": "landing",
    "customer_quarantine": "landing", "accelerometer_quarantine": "landing", "step_trainer_quarantine": "landing",
    "customer_trusted": "trusted", "accelerometer_trusted": "trusted", "step_trainer_trusted": "trusted",
    "customer_curated": "curated", "machine_learning_curated": "curated",
}
LANDING_CHECKS = {"not_empty", "lines_accounted_for"}
COUNT_CHECKS = {
    "customer_landing": LANDING_CHECKS,
    "accelerometer_landing": LANDING_CHECKS,
    "step_trainer_landing": LANDING_CHECKS,
    "customer_trusted": {"not_empty", "one_row_per_customer"},
    "accelerometer_trusted": {"not_empty", "not_more_than_landing"},
    "step_trainer_trusted": {"not_empty", "not_more_than_landing"},
    "customer_curated": {"not_empty", "one_row_per_customer"},
    "machine_learning_curated": {"not_empty", "no_personal_columns", "cross_customer_pairs"},
}

ASSETS_QUERY = """{ assetNodes { assetKey { path } groupName isPartitioned assetChecksOrError { __typename
  ... on AssetChecks { checks { name executionForLatestMaterialization { runId status evaluation { success } } } } } } }"""
CHECK_EXECUTIONS_QUERY = """query ($assetKey: AssetKeyInput!, $checkName: String!) {
  assetCheckExecutions(assetKey: $assetKey, checkName: $checkName, limit: 1) { runId status evaluation { success } }
}"""
RUNS_QUERY = """{ runsOrError(limit: 20) { __typename
  ... on Runs { results { runId jobName status } } ... on PythonError { message } } }"""
WORKSPACE_QUERY = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


def _tool(name: str) -> str:
    """A console script of this venv (falling back to PATH)."""
    return str(BIN / name) if (BIN / name).exists() else shutil.which(name) or name


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lake_run(tmp_path_factory):
    """Sample landing data, materialized by the CLI into a fresh DAGSTER_HOME; returns paths and env."""
    tmp = tmp_path_factory.mktemp("webserver")
    home = tmp / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    # No STEDI_* from the caller's shell: e.g. STEDI_EXPECTED_COUNTS would add checks the CLI run doesn't execute.
    env = {k: v for k, v in os.environ.items() if not k.startswith("STEDI_")}
    env.update(DAGSTER_HOME=str(home), DAGSTER_DISABLE_TELEMETRY="1",
               STEDI_LANDING_ROOT=str(tmp / "landing"), STEDI_LAKE_ROOT=str(tmp / "lake"))
    subprocess.run([_tool("stedi"), "sample", "--out", str(tmp / "landing")], env=env, check=True, timeout=120)
    subprocess.run([_tool("stedi"), "materialize", "--landing", str(tmp / "landing"), "--lake", str(tmp / "lake")],
                   env=env, check=True, timeout=900)
    return tmp, env


@pytest.fixture(scope="module")
def graphql(lake_run):
    """Start dagster-webserver on a free loopback port; yield a GraphQL helper; always stop the server."""
    tmp, env = lake_run
    port = _free_port()
    log = open(tmp / "webserver.log", "wb")
    server = subprocess.Popen(
        [_tool("dagster-webserver"), "-w", str(REPO / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"

    def query(text: str, variables: dict | None = None) -> dict:
        response = requests.post(f"{base}/graphql", json={"query": text, "variables": variables or {}}, timeout=60)
        response.raise_for_status()
        body = response.json()
        assert not body.get("errors"), body["errors"]
        return body["data"]

    try:
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"dagster-webserver exited with {server.returncode}:\n{_tail(tmp)}")
            try:
                if requests.get(f"{base}/server_info", timeout=5).ok:
                    break
            except requests.ConnectionError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"dagster-webserver not up after {STARTUP_TIMEOUT_S}s:\n{_tail(tmp)}")
            time.sleep(1)
        entries = query(WORKSPACE_QUERY)["workspaceOrError"]["locationEntries"]
        assert [(e["name"], e["loadStatus"], e["locationOrLoadError"]["__typename"]) for e in entries] == [
            ("stedi_assets.definitions", "LOADED", "RepositoryLocation")
        ], entries
        yield query
    finally:
        _stop(server)
        log.close()


def _tail(tmp: Path, lines: int = 40) -> str:
    return "\n".join((tmp / "webserver.log").read_text(errors="replace").splitlines()[-lines:])


def _stop(server: subprocess.Popen) -> None:
    """SIGTERM the server's process group (it owns its code server), then SIGKILL if it lingers."""
    if server.poll() is not None:
        return
    os.killpg(server.pid, signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def runs(graphql):
    """Every run the webserver lists (newest first)."""
    runs = graphql(RUNS_QUERY)["runsOrError"]
    assert runs["__typename"] == "Runs", runs
    return runs["results"]


@pytest.fixture(scope="module")
def cli_run_id(runs):
    """The one run the CLI recorded in the fresh DAGSTER_HOME."""
    assert len(runs) == 1, runs
    return runs[0]["runId"]


@pytest.fixture(scope="module")
def asset_nodes(graphql):
    """Asset key -> asset node as the webserver reports it."""
    return {node["assetKey"]["path"][-1]: node for node in graphql(ASSETS_QUERY)["assetNodes"]}


def _checks(node: dict) -> dict:
    checks = node["assetChecksOrError"]
    assert checks["__typename"] == "AssetChecks", checks
    return {check["name"]: check for check in checks["checks"]}


def test_assets_groups_and_partitions(asset_nodes):
    """The eleven assets, each in its zone's group, all partitioned by ingest date."""
    assert {key: node["groupName"] for key, node in asset_nodes.items()} == GROUPS
    assert all(node["isPartitioned"] for node in asset_nodes.values())


def test_every_asset_declares_its_checks(asset_nodes):
    """`schema_valid` everywhere; the zone tables also have their count checks."""
    for key, node in asset_nodes.items():
        expected = {"schema_valid"} | COUNT_CHECKS.get(key, set())
        assert expected <= set(_checks(node)), (key, sorted(_checks(node)))


def test_every_check_passed_in_the_cli_run(graphql, asset_nodes, cli_run_id):
    """Each check's execution for the latest materialization, and its newest execution overall
    (`assetCheckExecutions`), belong to the CLI's run and passed."""
    for key, node in asset_nodes.items():
        for name, check in _checks(node).items():
            variables = {"assetKey": {"path": [key]}, "checkName": name}
            newest = graphql(CHECK_EXECUTIONS_QUERY, variables)["assetCheckExecutions"]
            for execution in (check["executionForLatestMaterialization"], newest[0] if newest else None):
                assert execution is not None, f"{key}:{name} has no execution"
                outcome = (execution["runId"], execution["status"], execution["evaluation"]["success"])
                assert outcome == (cli_run_id, "SUCCEEDED", True), (key, name, execution)


def test_cli_run_listed_as_success(runs, cli_run_id):
    """The CLI's run shows in the runs list: the `all_zones` job, status SUCCESS."""
    assert [(r["runId"], r["jobName"], r["status"]) for r in runs] == [(cli_run_id, "all_zones", "SUCCESS")]
