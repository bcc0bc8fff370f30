"""Invariant 8: every kept version (tag or branch) of a trusted or curated table, the platform's training_set
tags and refs people made by hand alike, holds no row of a customer who no longer consents. Maintenance
re-issues such versions (`lake.versions.reissue`) before it expires snapshots, so the rows' files then go
with the snapshots that held them (invariant 5), and the versions stay."""

import traceback
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import SparkSession

from stedi_assets.atomic_files import written_whole
from stedi_assets.builds.build import Table
from stedi_assets.failures import one_line
from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.lake.maintenance import expire_old_files
from stedi_assets.lake.versions import Version, drop_work_branches, read_version, reissue, versions
from stedi_assets.pseudonym_key import key_id
from stedi_assets.schemas.tables import ALL_TABLES, CUSTOMER_TRUSTED, MACHINE_LEARNING_CURATED, SPLITS, TRAINING_SET
from stedi_assets.transforms.consent import KEPT, Consenting, consenting
from stedi_assets.zones import BUILDS

WHY = "rows of customers who no longer consent to research removed"


@dataclass(frozen=True)
class Reissue:
    """What maintenance did to one kept version: the rows it removed, or why it left the version as it is
    (`kept_because`)."""

    table: str
    version: str
    rows_removed: int = 0
    kept_because: str | None = None
    retention: dict | None = None  # the ref's own retention, which maintenance cannot answer for


def _key_made_with(version: Version, lake_key: str | None) -> str | None:
    """The key id the version's pseudonyms were made with: as its snapshot recorded, else the lake's now."""
    return version.built_from.get("options", {}).get("pseudonym_key") or lake_key


def purge_withdrawn(spark: SparkSession, lake: Lake, pseudonym_key: str) -> list[Reissue]:
    """Re-issue every kept version of a trusted or curated table that holds rows of a customer not consenting
    now (per the current customer_trusted). A version is left as it is, and reported, when its customers cannot
    be told: its pseudonyms made with another key than `pseudonym_key`, or no customer_trusted to say who
    consents (removing every row would lose the version for good); or when its re-issue fails."""
    tables = [table for build in BUILDS.values() for table in build.tables if table.belongs is not None]
    for table in tables:
        drop_work_branches(spark, lake, table.spec)
    kept = {table.spec.name: versions(lake, table.spec) for table in tables}
    if not any(kept.values()):
        return []
    customers = lake.pin(CUSTOMER_TRUSTED).snapshot_id
    lake_key = lake.pin(MACHINE_LEARNING_CURATED).built_from.get("options", {}).get("pseudonym_key")
    now = consenting(lake.read(spark, CUSTOMER_TRUSTED), pseudonym_key)
    done = []
    for table in tables:
        for version in kept[table.spec.name]:
            if customers is None:
                why_not = "customer_trusted holds no data: materialize the lake first"
            elif "pseudonym_key" in table.shaped_by and _key_made_with(version, lake_key) != key_id(pseudonym_key):
                why_not = "made with another pseudonym key: run maintenance with that key"
            else:
                why_not = None
            done.append(_reissued(spark, lake, table, version, now) if why_not is None else
                        Reissue(table.spec.name, version.name, kept_because=why_not))  # fmt: skip
    return done


def _reissued(spark: SparkSession, lake: Lake, table: Table, version: Version, now: Consenting) -> Reissue:
    """One version re-issued; a failure is told, and the other versions and the expiry are still done."""
    try:
        removed = reissue(spark, lake, table.spec, version, lambda rows: table.belongs(rows, now), KEPT, WHY)
    except Exception as error:
        cause = one_line("".join(traceback.format_exception(error)), str(error))
        return Reissue(table.spec.name, version.name, kept_because=f"its re-issue failed: {cause}")
    return Reissue(table.spec.name, version.name, removed, retention=version.retention or None)


def run_maintenance(
    spark: SparkSession, lake: Lake, pseudonym_key: str, retain_days: float
) -> tuple[list[Reissue], dict[str, dict[str, int]]]:
    """The lake's maintenance: kept versions re-issued without withdrawn customers, then snapshots older than
    `retain_days` expired and unreferenced files deleted (`lake.maintenance`)."""
    reissued = purge_withdrawn(spark, lake, pseudonym_key)
    return reissued, expire_old_files(spark, lake, list(ALL_TABLES), retain_days)


def needs_a_person(reissued: Reissue) -> bool:
    """Maintenance could not answer for the version: it exits non-zero so someone looks."""
    return bool(reissued.kept_because or reissued.retention)


def reissue_text(reissued: Reissue) -> str:
    if reissued.kept_because:
        return f"kept as it is: {reissued.kept_because}"
    done = f"re-issued without {reissued.rows_removed} rows" if reissued.rows_removed else "nothing to remove"
    if reissued.retention:
        done += (
            f"; it has a retention of its own ({reissued.retention}): expiry may drop it (a tag's maximum age) or "
            "keep its old rows (a branch's snapshots): make it again without one"
        )
    return done


@dataclass(frozen=True)
class TrainingSetVersion:
    """A kept version of training_set with its rows and customers per split."""

    version: Version
    per_split: dict[str, tuple[int, int]]  # split: (rows, customers)


def _per_split(rows) -> dict[str, tuple[int, int]]:
    counts = rows.group_by("split").aggregate([("split", "count"), ("customer_id", "count_distinct")]).to_pylist()
    found = {row["split"]: (row["split_count"], row["customer_id_count_distinct"]) for row in counts}
    return {split: found.get(split, (0, 0)) for split in SPLITS}


def training_set_versions(lake: Lake) -> list[TrainingSetVersion]:
    """Every kept version of training_set, oldest first, read without Spark."""
    return [
        TrainingSetVersion(
            version, _per_split(read_version(lake, TRAINING_SET, version.name, ("split", "customer_id")))
        )
        for version in versions(lake, TRAINING_SET)
    ]


def export_version(lake: Lake, name: str, out: Path) -> dict[str, int]:
    """One Parquet file per split of training_set's version `name` (`<out>/<split>.parquet`, each written whole:
    `written_whole`); the rows written per split. Raises `UnknownVersion` for an unknown name."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    rows = read_version(lake, TRAINING_SET, name)
    out.mkdir(parents=True, exist_ok=True)
    written = {}
    for split in SPLITS:
        part = rows.filter(pc.equal(rows["split"], split))
        with written_whole(out / f"{split}.parquet") as temporary:
            pq.write_table(part, temporary)
        written[split] = part.num_rows
    return written
