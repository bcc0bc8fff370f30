"""The Dagster instance `stedi` and `stedi ui` share, and what it learns from the lake.

The instance is a view, never the truth: the lake's own state is. So an instance that has not seen the lake
as it is now (a new one, or one another instance's run, an AWS job or a release went around) learns it: each
zone table whose current snapshot is not the one the instance last recorded gets a materialization of each
of its partitions, as the lake's state describes them, and nothing is recomputed. A run of `stedi
materialize`, `stedi ui` as it starts and the landing sensor's ticks do this (an up-to-date `stedi
materialize` opens no instance: it answers from the lake alone).

Where: `$DAGSTER_HOME` when set; else a `dagster` folder beside a local lake (`data/dagster` for the default
`data/lake`), or `data/dagster` under the current folder for a lake on S3, set up with this package's
instance settings (`dagster.yaml`). Lakes in one folder share it: Dagster keeps one set of ingest dates per
instance, so give each lake a folder of its own (or its own DAGSTER_HOME).
"""

import fcntl
import os
from pathlib import Path

import dagster as dg

from stedi_assets.asset_metadata import metadata
from stedi_assets.atomic_files import write_text_atomically
from stedi_assets.builds.outcome import SNAPSHOT_ID, partition_metadata, whole_table
from stedi_assets.lake.iceberg_tables import Lake, Pinned
from stedi_assets.partitions import ingest_date_partitions
from stedi_assets.schemas.tables import ALL_TABLES

DEFAULT_HOME = "data/dagster"  # for a lake on S3
SETTINGS = Path(__file__).with_name("dagster.yaml")


def dagster_home(lake_root: str) -> Path:
    """The instance's folder, made ready: `$DAGSTER_HOME` (created if missing), else the default for the lake
    (module docstring), set up with the package's settings."""
    chosen = os.environ.get("DAGSTER_HOME")
    default = Path(DEFAULT_HOME) if lake_root.startswith("s3://") else Path(lake_root).absolute().parent / "dagster"
    home = Path(chosen or default).absolute()
    home.mkdir(parents=True, exist_ok=True)
    if not chosen and not (home / "dagster.yaml").exists():
        write_text_atomically(home / "dagster.yaml", SETTINGS.read_text())
    return home


def open_instance(lake_root: str) -> dg.DagsterInstance:
    """The instance in `dagster_home`: what `DagsterInstance.get()` gives with DAGSTER_HOME set to that folder.

    Dagster creates an instance's SQLite databases when it first opens it, and two processes doing that at
    once (two `stedi materialize` runs started together on a new lake) break its schema migrations: they open
    it one at a time."""
    home = dagster_home(lake_root)
    with open(home / ".opening.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return dg.DagsterInstance.from_config(str(home))


def lake_news(
    instance: dg.DagsterInstance, lake: Lake, pins: dict[str, Pinned]
) -> tuple[list[str], list[dg.AssetMaterialization]]:
    """What `instance` has not seen of the lake (`pins`: every table as it is now, `Lake.pins`): the ingest
    dates it has not registered, and a materialization of every partition of each table whose current
    snapshot it has not recorded (rows and measures from the partition's state, the table's rows and
    snapshot)."""
    dates, news = set(), []
    for table in ALL_TABLES:
        pinned = pins[table.name]
        if pinned.snapshot_id is None:
            continue
        latest = instance.get_latest_materialization_event(dg.AssetKey(table.name))
        seen = (
            latest.asset_materialization.metadata.get(SNAPSHOT_ID) if latest and latest.asset_materialization else None
        )
        if seen is not None and seen.value == str(pinned.snapshot_id):
            continue
        table_values = {
            **whole_table(pinned.table_rows, lake.identifier(table), lake.location(table), pinned.snapshot_id),
            "learned_from_lake": True,
        }
        for date, entry in sorted(pinned.state.items()):
            dates.add(date)
            values = {**table_values, **partition_metadata(entry, table.rule_names)}
            news.append(dg.AssetMaterialization(table.name, partition=date, metadata=metadata(values)))
    known = set(instance.get_dynamic_partitions(ingest_date_partitions.name))
    return sorted(dates - known), news


def learn_lake(instance: dg.DagsterInstance, lake: Lake) -> int:
    """Record in `instance` what it has not seen of the lake (`lake_news`); returns how many partitions."""
    new_dates, news = lake_news(instance, lake, lake.pins(ALL_TABLES))
    instance.add_dynamic_partitions(ingest_date_partitions.name, new_dates)
    for materialization in news:
        instance.report_runless_asset_event(materialization)
    return len(news)
