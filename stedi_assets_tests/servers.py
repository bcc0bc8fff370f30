"""Shared pieces of the end-to-end tests that run Dagster as a user does: the venv's tools, a fresh
DAGSTER_HOME and environment, and a Dagster server (`dagster-webserver` or `dagster dev`) on a free
loopback port, watched through GraphQL and always stopped.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from stedi_assets.jvm_classes import CLASS_CACHE_ENV
from stedi_assets.pseudonym_key import CONFIG_ENV
from stedi_assets.run_log import LOG_DIR_ENV

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CODE_LOCATION = "stedi_assets.definitions"

WORKSPACE_QUERY = """{ workspaceOrError { ... on Workspace { locationEntries { name loadStatus
  locationOrLoadError { __typename ... on PythonError { message } } } } } }"""


def tool(name: str) -> str:
    """A console script of this venv (falling back to PATH)."""
    return str(BIN / name) if (BIN / name).exists() else shutil.which(name) or name


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def caller_env() -> dict[str, str]:
    """The test process's environment without STEDI_* settings from the caller's shell (e.g.
    STEDI_EXPECTED_COUNTS would add checks the CLI run doesn't execute), but with the test session's JVM class
    cache, config and log folders (see conftest)."""
    session_folders = (CLASS_CACHE_ENV, CONFIG_ENV, LOG_DIR_ENV)
    return {k: v for k, v in os.environ.items() if not k.startswith("STEDI_") or k in session_folders}


def dagster_env(home: Path, landing: Path, lake: Path) -> dict[str, str]:
    """A new DAGSTER_HOME at `home` (with the repo's dagster.yaml) and the environment to run Dagster in it."""
    home.mkdir(parents=True)
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    return instance_env(home, landing, lake)


def instance_env(home: Path, landing: Path, lake: Path) -> dict[str, str]:
    """The environment to run Dagster in the DAGSTER_HOME at `home`, on these landing and lake roots."""
    return {
        **caller_env(),
        "DAGSTER_HOME": str(home),
        "DAGSTER_DISABLE_TELEMETRY": "1",
        "STEDI_LANDING_ROOT": str(landing),
        "STEDI_LAKE_ROOT": str(lake),
    }


class DagsterServer:
    """A started Dagster server: its base URL, a GraphQL helper and the tail of its log."""

    def __init__(self, process: subprocess.Popen, base: str, log: Path):
        self.process, self.base, self.log = process, base, log

    def query(self, text: str, variables: dict | None = None) -> dict:
        """POST a GraphQL query; its `data`, or AssertionError when the answer has errors."""
        response = requests.post(f"{self.base}/graphql", json={"query": text, "variables": variables or {}}, timeout=60)
        response.raise_for_status()
        body = response.json()
        if body.get("errors"):
            raise AssertionError(body["errors"])
        return body["data"]

    def tail(self, lines: int = 60) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])


@contextmanager
def dagster_server(
    command: list[str], env: dict[str, str], log: Path, startup_timeout_s: float = 120
) -> Iterator[DagsterServer]:
    """Run `command` (e.g. `[tool("dagster-webserver")]` or `[tool("dagster"), "dev"]`) on the repo's
    workspace.yaml and a free loopback port, logging to `log`; see `_serve`."""
    port = free_port()
    command = [*command, "-w", str(REPO / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)]
    with _serve(command, port, REPO, env, log, startup_timeout_s) as server:
        yield server


@contextmanager
def stedi_ui(env: dict[str, str], cwd: Path, log: Path, startup_timeout_s: float = 120) -> Iterator[DagsterServer]:
    """`stedi ui` as the README runs it, from `cwd`, on a free loopback port, logging to `log`; see `_serve`."""
    port = free_port()
    command = [sys.executable, "-m", "stedi_assets.cli", "ui", "--port", str(port)]
    with _serve(command, port, cwd, env, log, startup_timeout_s) as server:
        yield server


@contextmanager
def _serve(
    command: list[str], port: int, cwd: Path, env: dict[str, str], log: Path, startup_timeout_s: float
) -> Iterator[DagsterServer]:
    """`command`, serving on `port`, in its own process group. Yields once the server answers and the code
    location has loaded (else the UI would show a load error); always stops the whole process group."""
    with open(log, "wb") as out:  # the child keeps its own copy of the file descriptor
        process = subprocess.Popen(
            command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = DagsterServer(process, f"http://127.0.0.1:{port}", log)
    try:
        _wait_until_loaded(server, " ".join([Path(command[0]).name, *command[1:3]]), startup_timeout_s)
        yield server
    finally:
        _stop(process)


def _wait_until_loaded(server: DagsterServer, name: str, timeout_s: float) -> None:
    """Until `/server_info` answers and no code location is still loading; then exactly ours, loaded."""
    deadline = time.monotonic() + timeout_s
    entries = None
    while True:
        if server.process.poll() is not None:
            pytest.fail(f"{name} exited with {server.process.returncode}:\n{server.tail()}")
        try:
            if requests.get(f"{server.base}/server_info", timeout=5).ok:
                entries = server.query(WORKSPACE_QUERY)["workspaceOrError"]["locationEntries"]
                if entries and all(e["loadStatus"] != "LOADING" for e in entries):
                    break
        except (requests.ConnectionError, requests.Timeout):
            pass
        if time.monotonic() > deadline:
            pytest.fail(f"{name} not up after {timeout_s}s (locations: {entries}):\n{server.tail()}")
        time.sleep(1)
    assert [(e["name"], e["loadStatus"], e["locationOrLoadError"]["__typename"]) for e in entries] == [
        (CODE_LOCATION, "LOADED", "RepositoryLocation")
    ], entries


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM the server's own process, which stops its children in order (`dagster dev` stops its daemon and
    webserver while their code server still answers); then the rest of the process group (code servers, runs),
    give it time to shut down, and SIGKILL what lingers. A SIGTERM to the whole group at once could stop the code
    server before the daemon threads that ask it, which Dagster joins for up to 30 s each (a teardown of the
    daemon test in one suite run took 31 s; stopped in order it took at most 4 s)."""
    try:
        process.terminate()
        process.wait(timeout=60)
        os.killpg(process.pid, signal.SIGTERM)
        deadline = time.monotonic() + 30
        while _group_running(process.pid) and time.monotonic() < deadline:  # children may still be shutting down
            time.sleep(0.5)
    except (ProcessLookupError, subprocess.TimeoutExpired):
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait(timeout=30)


def _group_running(pgid: int) -> bool:
    """Whether a process of the group still runs. Zombies don't count: orphans that nobody reaps
    (where PID 1 doesn't) stay in the group, but there is nothing left to wait for."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    if not Path("/proc/self/stat").exists():
        return True
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            state, _ppid, pgrp = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue  # gone meanwhile
        if int(pgrp) == pgid and state != "Z":
            return True
    return False
