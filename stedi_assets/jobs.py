"""Jobs for the common selections, a schedule users can turn on, and the lake's nightly maintenance."""

import os

import dagster as dg
from dagster_pyspark import PySparkResource
from pydantic import Field

from stedi_assets.deliveries import release
from stedi_assets.kept_versions import needs_a_person, reissue_text, run_maintenance
from stedi_assets.lake.conflicts import ConcurrentWrite
from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.options import DEFAULT_RETAIN_DAYS, StediOptions
from stedi_assets.schemas.tables import LANDING_TABLES

# Runs that write the lake take turns (dagster.yaml limits runs with this tag to one at a time).
LAKE_WRITER_TAG = {"stedi/lake-writer": "true"}

all_zones_job = dg.define_asset_job(
    "all_zones",
    selection=dg.AssetSelection.all(),
    tags=LAKE_WRITER_TAG,
    description="Every zone table and check, for the selected ingest dates, in one Spark session.",
)


zone_jobs = [
    dg.define_asset_job(
        f"{zone}_zone",
        selection=dg.AssetSelection.groups(zone),
        tags=LAKE_WRITER_TAG,
        description=f"The {zone} tables and their checks, for the selected ingest dates.",
    )
    for zone in ("landing", "trusted", "curated")
]


def partition_range_tags(ordered_keys: list[str]) -> dict[str, str]:
    """Tags that make one run cover these ingest dates (first to last, in registration order)."""
    # Dagster's own tags of a run over a partition range (what a backfill's run carries); no public API sets them.
    return {
        "dagster/asset_partition_range_start": ordered_keys[0],
        "dagster/asset_partition_range_end": ordered_keys[-1],
    }


@dg.schedule(
    job=all_zones_job,
    cron_schedule="0 2 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.STOPPED,
    description="Nightly run of all zones over every ingest date: a safety net beside the landing sensor. "
    "Turn it on in Automation.",
)
def nightly_all_zones(context: dg.ScheduleEvaluationContext):
    ingest_dates = context.instance.get_dynamic_partitions("ingest_date")
    if not ingest_dates:
        return dg.SkipReason("no ingest dates registered yet")
    return dg.RunRequest(tags=partition_range_tags(ingest_dates))


class Retention(dg.Config):
    retain_days: float = float(os.environ.get("STEDI_RETAIN_DAYS", DEFAULT_RETAIN_DAYS))


@dg.op(
    description="Re-issues kept versions without withdrawn customers, expires snapshots older than the retention "
    "window and deletes the files nothing references."
)
def expire_snapshots_and_orphan_files(
    context: dg.OpExecutionContext,
    config: Retention,
    pyspark: PySparkResource,
    lake: dg.ResourceParam[Lake],
    options: dg.ResourceParam[StediOptions],
) -> None:
    reissued, deleted = run_maintenance(pyspark.spark_session, lake, options.pseudonym_key, config.retain_days)
    for version in reissued:
        context.log.info(f"{version.table} {version.version}: {reissue_text(version)}")
    for table, files in deleted.items():
        context.log.info(f"{table}: deleted {files}")
    if told := [version for version in reissued if needs_a_person(version)]:  # as `stedi maintain` exits 1
        raise dg.Failure("; ".join(f"{v.table} {v.version}: {reissue_text(v)}" for v in told))


@dg.job(
    tags=LAKE_WRITER_TAG,  # never while a run writes: a younger orphan may be a commit in flight
    description="Lake maintenance: a withdrawn customer's rows in old snapshots are physically deleted once the "
    "snapshots are older than the retention window (STEDI_RETAIN_DAYS, default 7).",
)
def maintain_lake():
    expire_snapshots_and_orphan_files()


class Release(dg.Config):
    """Which held delivery to release, and who releases it (recorded in the lake)."""

    source: str = Field(description="customer, accelerometer or step_trainer")
    date: str = Field(description="the delivery's ingest date, YYYY-MM-DD")
    released_by: str = Field(description="your name: the lake records who released the delivery, and when")


@dg.op(description="Releases a held delivery: the next run takes its valid rows to the trusted and curated tables.")
def release_delivery(context: dg.OpExecutionContext, config: Release, lake: dg.ResourceParam[Lake]) -> None:
    if config.source not in LANDING_TABLES:
        raise dg.Failure(f"source must be one of {', '.join(LANDING_TABLES)}, not {config.source!r}")
    try:
        delivery = release(lake, config.source, config.date, config.released_by)
    except (ValueError, ConcurrentWrite) as error:  # not held (NotHeld), the table not built, or a lost race
        raise dg.Failure(str(error)) from None
    context.log.info(f"released {delivery.source} {delivery.date}: {delivery.summary()}")


@dg.job(
    tags=LAKE_WRITER_TAG,
    description="Release a held delivery (one source's files of one ingest date with too many bad lines), as "
    "`stedi release` does. `released_delivery_sensor` then starts a run that takes its rows downstream.",
)
def release_held_delivery():
    release_delivery()


nightly_maintenance = dg.ScheduleDefinition(
    job=maintain_lake,
    cron_schedule="0 3 * * *",
    execution_timezone="UTC",
    default_status=dg.DefaultScheduleStatus.RUNNING,  # on by default: consent withdrawal depends on it
)
