"""Lake maintenance: expire old snapshots and delete the files nothing references any more.

A run that follows a consent withdrawal removes the customer's rows from the current trusted and curated
tables, but older snapshots still reference files holding them. Expiring the snapshots older than the
retention window deletes those files (Iceberg's `expire_snapshots`), and `remove_orphan_files` deletes
files of that age that no snapshot ever referenced (written by runs killed before their commit). So a
withdrawn customer's rows are physically gone `retain_days` after the run that removed them, at the
latest at the next maintenance after that.

An orphan younger than the window is kept: it may belong to a commit still in flight. With a window of
0 days, run maintenance when no run is writing the lake.
"""

from datetime import UTC, datetime, timedelta

from pyspark.sql import SparkSession

from stedi_assets.lake.catalog import CATALOG
from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.schemas.tables import TableSpec


def expire_old_files(
    spark: SparkSession, lake: Lake, tables: list[TableSpec], retain_days: float, now: datetime | None = None
) -> dict[str, dict[str, int]]:
    """Expire every snapshot older than `retain_days` but the current one, and delete orphan files of that
    age, in each existing table of `tables`. Returns, per table, how many files of each kind were deleted."""
    lake.attach(spark)
    cutoff = (now or datetime.now(UTC)) - timedelta(days=retain_days)
    older_than = f"TIMESTAMP '{cutoff.astimezone(UTC).strftime('%Y-%m-%d %H:%M:%S.%f')}'"  # the session is in UTC
    deleted = {}
    for table in tables:
        identifier = lake.identifier(table)
        if not spark.catalog.tableExists(identifier):
            continue
        expired = spark.sql(
            f"CALL {CATALOG}.system.expire_snapshots(table => '{identifier}', older_than => {older_than}, "
            "retain_last => 1)"
        ).first()
        deleted[table.name] = {
            "data_files": expired["deleted_data_files_count"],
            "manifest_files": expired["deleted_manifest_files_count"] + expired["deleted_manifest_lists_count"],
            "orphan_files": _delete_orphan_files(spark, identifier, cutoff),
        }
    return deleted


def _delete_orphan_files(spark: SparkSession, identifier: str, cutoff: datetime) -> int:
    """Iceberg's `DeleteOrphanFiles` action. Its SQL procedure refuses windows under 24 hours, which a purge
    with `retain_days=0` needs; the action takes any window (local Spark only: it runs in this JVM). It lists
    the table's files through the table's own FileIO (S3FileIO on S3), as local Spark has no S3 filesystem."""
    jvm, session = spark._jvm, spark._jsparkSession
    table = jvm.org.apache.iceberg.spark.Spark3Util.loadIcebergTable(session, identifier)
    action = jvm.org.apache.iceberg.spark.actions.SparkActions.get(session).deleteOrphanFiles(table)
    result = action.olderThan(int(cutoff.timestamp() * 1000)).usePrefixListing(True).execute()
    return sum(1 for _ in result.orphanFileLocations())
