"""Kept versions of a table: its Iceberg tags and branches other than `main`, with how each was re-issued.

A kept version names data for longer than maintenance keeps snapshots (expiry never takes a snapshot a ref
holds). The platform tags each version of `training_set` (`v1`, `v2`, ...); people may tag or branch any
table by hand. Each is re-issued, not dropped, when rows in it must go (`reissue`): the rows that stay are
written as a new snapshot (the partitions that lose rows rewritten, copy-on-write), the ref is moved to it,
and the old snapshot is left to expire. What was re-issued, when and why, is kept in the new snapshot's
summary (`stedi.reissue`), so the lake alone tells a version's history.
"""

import json
import re
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from stedi_assets.lake.iceberg_tables import Lake, snapshot_summary
from stedi_assets.lake.partition_state import built_from_at
from stedi_assets.schemas.tables import PARTITION_COLUMN, TableSpec

MAIN = "main"
# A ref's own retention: a tag with a maximum age is dropped by expiry, and a branch that keeps more than one
# snapshot keeps a re-issued version's old rows with them.
RETENTION = ("max_ref_age_ms", "max_snapshot_age_ms", "min_snapshots_to_keep")
TAG_NAME = re.compile(r"^v(\d+)$")  # the platform's own tags
REISSUE = "stedi.reissue"
WORK_BRANCH = "stedi-reissue"  # a tag's new snapshot is written on a branch so named, then the tag moves to it


class UnknownVersion(KeyError):
    """No kept version of the table has this name."""


@dataclass(frozen=True)
class Version:
    """A kept version: its ref's name and kind (`tag` or `branch`), the snapshot it holds now, when it was
    first made (epoch ms), the snapshot it first held, what that snapshot was built from (`stedi.built_from`;
    empty: unknown), its re-issues, oldest first, and the retention of its own it was made with, if any."""

    name: str
    kind: str
    snapshot_id: int
    created_ms: int
    first_snapshot_id: int
    built_from: dict = field(default_factory=dict)
    reissues: list[dict] = field(default_factory=list)
    retention: dict = field(default_factory=dict)


def versions(lake: Lake, table: TableSpec) -> list[Version]:
    """The table's kept versions, oldest first (none before the table exists)."""
    iceberg = lake.iceberg(table)
    return [] if iceberg is None else _versions(iceberg)


def _versions(iceberg) -> list[Version]:
    """The kept versions of a pyiceberg table, oldest first."""
    snapshots = {s.snapshot_id: s for s in iceberg.snapshots()}
    history = {s.snapshot_id: (s.parent_snapshot_id, snapshot_summary(s)) for s in snapshots.values()}
    found = []
    for name, ref in iceberg.metadata.refs.items():
        if name == MAIN or name.startswith(WORK_BRANCH):
            continue
        snapshot = snapshots[ref.snapshot_id]
        record = json.loads(snapshot_summary(snapshot).get(REISSUE, "{}"))
        found.append(
            Version(
                name,
                ref.snapshot_ref_type.value,
                ref.snapshot_id,
                record.get("created_ms", snapshot.timestamp_ms),
                record.get("first_snapshot_id", ref.snapshot_id),
                record.get("built_from") or built_from_at(ref.snapshot_id, history),
                record.get("reissues", []),
                {name: getattr(ref, name) for name in RETENTION if getattr(ref, name) is not None},
            )
        )
    return sorted(found, key=lambda v: (v.created_ms, v.name))


def _changes_rows(snapshot) -> bool:
    summary = snapshot_summary(snapshot)
    return any(int(summary.get(name, 0)) for name in ("added-data-files", "deleted-data-files", "added-delete-files"))


def tag_current_version(lake: Lake, table: TableSpec) -> Version | None:
    """The platform's tag of the table's current rows, made now (`v<n+1>`) unless one already holds them (a
    run that committed and died before tagging is caught up by the next). None: the table holds no data.

    The current rows are those of the newest snapshot back from the current one that changed data files (a
    commit of state alone changes none); a tag holds them if it holds that snapshot, or first held it."""
    from pyiceberg.exceptions import CommitFailedException

    while True:
        iceberg = lake.iceberg(table)
        current = iceberg.current_snapshot() if iceberg else None
        if current is None:
            return None
        platform = [v for v in _versions(iceberg) if TAG_NAME.match(v.name)]
        tagged = {v.first_snapshot_id: v for v in platform}
        snapshots = {s.snapshot_id: s for s in iceberg.snapshots()}
        snapshot = current
        while snapshot is not None:
            if snapshot.snapshot_id in tagged:
                return tagged[snapshot.snapshot_id]
            if _changes_rows(snapshot):
                break
            snapshot = snapshots.get(snapshot.parent_snapshot_id)
        else:  # the history before the current rows has expired: they are the newest tag's, as it was made
            if tagged:
                return max(tagged.values(), key=lambda v: (v.created_ms, v.name))
        number = 1 + max((int(TAG_NAME.match(v.name).group(1)) for v in platform), default=0)
        try:
            iceberg.manage_snapshots().create_tag(current.snapshot_id, f"v{number}").commit()
        except CommitFailedException:  # another writer made a tag or committed meanwhile: look again
            continue
        return Version(f"v{number}", "tag", current.snapshot_id, current.timestamp_ms, current.snapshot_id)


def reissue(
    spark: SparkSession,
    lake: Lake,
    table: TableSpec,
    version: Version,
    flag: Callable[[DataFrame], DataFrame],
    kept: str,
    why: str,
) -> int:
    """Re-issue `version` holding only its rows that `flag` marks true in the column `kept`: the partitions
    with other rows rewritten in a new snapshot, to which the ref moves (a branch's own commit, which fails if
    someone committed to the branch meanwhile; for a tag, a commit on a work branch made at the tag, then the
    tag moved). Returns the rows removed (0: the version is left as it is)."""
    identifier = lake.identifier(table)
    flagged = flag(lake.read(spark, table, version.snapshot_id))
    gone = flagged.where(~F.col(kept)).groupBy(PARTITION_COLUMN).count().collect()
    removed = {row[PARTITION_COLUMN]: row["count"] for row in gone}
    if not removed:
        return 0
    now = {"at_ms": int(time.time() * 1000), "from_snapshot_id": version.snapshot_id, "why": why}
    record = {
        "created_ms": version.created_ms,
        "first_snapshot_id": version.first_snapshot_id,
        "built_from": version.built_from,
        "reissues": [*version.reissues, {**now, "rows_removed": sum(removed.values())}],
    }
    branch = version.name if version.kind == "branch" else f"{WORK_BRANCH}-{uuid.uuid4().hex[:8]}"
    if version.kind == "tag":
        spark.sql(f"ALTER TABLE {identifier} CREATE BRANCH `{branch}` AS OF VERSION {version.snapshot_id}")
    rewritten = F.col(PARTITION_COLUMN).isin(list(removed))
    options = {
        f"snapshot-property.{REISSUE}": json.dumps(record),
        "isolation-level": "serializable",
        "validate-from-snapshot-id": str(version.snapshot_id),
    }
    flagged.where(rewritten & F.col(kept)).drop(kept).writeTo(f"{identifier}.`branch_{branch}`").options(
        **options
    ).overwrite(rewritten)
    if version.kind == "tag":
        new = spark.sql(f"SELECT snapshot_id FROM {identifier}.refs WHERE name = '{branch}'").first()[0]
        spark.sql(f"ALTER TABLE {identifier} REPLACE TAG `{version.name}` AS OF VERSION {new}")
        spark.sql(f"ALTER TABLE {identifier} DROP BRANCH `{branch}`")
    return sum(removed.values())


def drop_work_branches(spark: SparkSession, lake: Lake, table: TableSpec) -> None:
    """Work branches a re-issue killed halfway left (they may hold a version's old rows). Maintenance runs alone:
    no other re-issue is using one."""
    iceberg = lake.iceberg(table)
    for name in iceberg.metadata.refs if iceberg else ():
        if name.startswith(WORK_BRANCH):
            spark.sql(f"ALTER TABLE {lake.identifier(table)} DROP BRANCH IF EXISTS `{name}`")


def read_version(lake: Lake, table: TableSpec, name: str, columns: tuple[str, ...] = ("*",)):
    """The rows of a kept version as an Arrow table, without Spark (pyiceberg); `UnknownVersion` if none has
    that name."""
    iceberg = lake.iceberg(table)
    ref = iceberg.metadata.refs.get(name) if iceberg else None
    if ref is None or name == MAIN or name.startswith(WORK_BRANCH):
        raise UnknownVersion(name)
    return iceberg.scan(snapshot_id=ref.snapshot_id, selected_fields=columns).to_arrow()
