"""A run targets the ingest dates whose landing files changed, and Dagster's partition status stays true: after
a delivery, exactly the partitions whose content changed (and the delivery's own dates) have a new
materialization; older partitions of customers whose consent changed among them. Each partition's
materialization tells that partition's row count.

What changed is computed independently of the platform, from the tables' rows read with pyiceberg before and
after the run.
"""

import shutil
from collections import Counter, defaultdict

import dagster as dg
import pytest

from stedi_assets.cli import main
from stedi_assets.sample import write_sample_landing
from stedi_assets.schemas.tables import ALL_TABLES
from stedi_assets_tests.lake_contents import table_rows
from stedi_assets_tests.servers import REPO

pytestmark = pytest.mark.slow


def rows_by_partition(lake) -> dict[str, dict[str, Counter]]:
    """Each table's rows per ingest date, as stored."""
    tables = {}
    for table in ALL_TABLES:
        partitions = defaultdict(Counter)
        for row in table_rows(lake, table.name):
            partitions[row["ingest_date"]][tuple(sorted(row.items()))] += 1
        tables[table.name] = partitions
    return tables


def changed_partitions(before: dict, after: dict) -> dict[str, set[str]]:
    return {
        table: {date for date in set(before[table]) | set(after[table]) if before[table][date] != after[table][date]}
        for table in after
    }


def materialized_in_last_run(instance: dg.DagsterInstance) -> dict[str, dict[str, int]]:
    """Each table's partitions materialized by the newest run, with the row count each one's event tells."""
    (run,) = instance.get_runs(limit=1)
    partitions = defaultdict(dict)
    for event in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION):
        materialization = event.asset_materialization
        rows = materialization.metadata["dagster/partition_row_count"].value
        partitions[materialization.asset_key.to_user_string()][materialization.partition] = rows
    return partitions


def land(complete, landing, date: str) -> None:
    for source_dir in complete.iterdir():
        day = source_dir / "landing" / f"ingest_date={date}"
        if day.is_dir():
            shutil.copytree(day, landing / source_dir.name / "landing" / day.name)


def test_a_delivery_materializes_the_partitions_it_changed_and_no_other(tmp_path, monkeypatch, spark):
    home = tmp_path / "home"
    home.mkdir()
    shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    complete, landing, lake = tmp_path / "complete", tmp_path / "landing", tmp_path / "lake"
    write_sample_landing(complete, customers=30, seed=5, ingest_dates=4)
    dates = sorted(day.name.split("=")[1] for day in (complete / "customer" / "landing").iterdir())
    run = ["materialize", "--landing", str(landing), "--lake", str(lake), "--pseudonym-key", "test-key"]
    for date in dates[:3]:
        land(complete, landing, date)
    assert main(run) == 0

    before = rows_by_partition(lake)
    land(complete, landing, dates[3])
    assert main(run) == 0
    after = rows_by_partition(lake)
    changed = changed_partitions(before, after)

    with dg.DagsterInstance.get() as instance:
        materialized = materialized_in_last_run(instance)
    for table in ALL_TABLES:
        assert set(materialized[table.name]) == changed[table.name] | {dates[3]}, table.name
        # Each partition's event tells its own rows, as stored.
        stored = {date: sum(after[table.name][date].values()) for date in materialized[table.name]}
        assert materialized[table.name] == stored, table.name
    # The delivery changed consent of customers with readings on earlier dates: those partitions count too.
    assert changed["accelerometer_trusted"] - {dates[3]}
