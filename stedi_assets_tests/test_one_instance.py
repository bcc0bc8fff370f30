"""Issue: the CLI and the UI tell one story. A newcomer follows the README to the letter in a fresh home folder:
the quick start, then `stedi ui`; the UI (its GraphQL) shows what the lake holds. A brand-new instance pointed
at that lake learns it from the lake itself, and nothing is recomputed."""

import subprocess
import sys
from pathlib import Path

import pytest

from stedi_assets.lake import jars
from stedi_assets.schemas.tables import ALL_TABLES
from stedi_assets_tests.lake_contents import current_snapshots, table_rows
from stedi_assets_tests.servers import caller_env, stedi_ui

pytestmark = pytest.mark.slow

STATUSES_QUERY = """{ assetNodes { assetKey { path } partitionKeys
  assetPartitionStatuses { ... on DefaultPartitionStatuses { materializedPartitions } } } }"""
# What the README's commands must never print: a Python warning, a log line at WARNING, Dagster's two notes.
WARNINGS = ("Warning", "WARNING", "superseded", "Found a dagster instance configuration")


def stedi(cwd: Path, env: dict[str, str], *arguments: str) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "stedi_assets.cli", *arguments], cwd=cwd, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def shown_in_ui(env: dict[str, str], cwd: Path, log: Path) -> dict[str, tuple[list[str], list[str]]]:
    """Per asset, its registered partitions and those the UI shows as materialized; and no warning in the log."""
    with stedi_ui(env, cwd, log) as server:
        nodes = server.query(STATUSES_QUERY)["assetNodes"]
    said = log.read_text()
    assert not [line for line in said.splitlines() if any(word in line for word in WARNINGS)], said[-3000:]
    return {
        node["assetKey"]["path"][-1]: (
            node["partitionKeys"],
            sorted(node["assetPartitionStatuses"]["materializedPartitions"]),
        )
        for node in nodes
    }


def test_the_quick_start_then_the_ui_shows_every_table_in_every_partition_and_a_new_instance_learns_it(tmp_path):
    work, home = tmp_path / "clone", tmp_path / "home"
    work.mkdir()
    home.mkdir()
    # A fresh home folder and no DAGSTER_HOME; the jars the session already fetched (offline here).
    env = {**caller_env(), "HOME": str(home), jars.JAR_CACHE_ENV: str(jars.cache_dir())}
    env.pop("DAGSTER_HOME", None)
    stedi(work, env, "sample", "--out", "data/landing")
    stedi(work, env, "materialize", "--landing", "data/landing", "--lake", "data/lake")
    lake = work / "data" / "lake"
    dates = sorted({row["ingest_date"] for row in table_rows(lake, "customer_landing")})
    assert len(dates) > 1 and (work / "data" / "dagster").is_dir()  # the instance beside the lake

    expected = {table.name: (dates, dates) for table in ALL_TABLES}
    assert shown_in_ui(env, work, tmp_path / "ui.log") == expected

    # A brand-new instance: the lake is up to date, nothing is written to it, and the UI's instance learns it.
    new_home = {**env, "DAGSTER_HOME": str(tmp_path / "new-instance")}
    before = current_snapshots(lake)
    again = stedi(work, new_home, "materialize")
    assert "The lake is up to date" in again.stdout
    assert current_snapshots(lake) == before
    assert shown_in_ui(new_home, work, tmp_path / "ui-new.log") == expected
