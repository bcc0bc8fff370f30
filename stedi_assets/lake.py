"""The lake: Parquet tables partitioned by ingest date, readable by any engine.

Layout: `<root>/<zone>/<table>/ingest_date=YYYY-MM-DD/*.parquet`, plus three
hidden files Spark and DuckDB ignore: `_state.json` (rows, content digest,
measures and a fingerprint of the partition's inputs, per partition), `_commit.json` (a commit in progress)
and `_lock`.

A write replaces whole partitions and is atomic for the whole table: new
partitions are staged in a hidden folder, then a commit record is written
(the commit point), then the partition folders are swapped in by rename and
the state updated. A run killed before the commit record leaves the table as
it was; one killed after it is rolled forward by the next access. Partitions
whose content digest is unchanged are not rewritten, so re-running changes no
file. Writers of one table take turns on an exclusive lock.
"""

import fcntl
import json
import shutil
import uuid
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pyspark.sql import Column, DataFrame, Observation, SparkSession
from pyspark.sql import functions as F

from stedi_assets.atomic_files import leftover_temporaries, write_text_atomically
from stedi_assets.schemas.tables import PARTITION_COLUMN, TableSpec
from stedi_assets.transforms import empty_frame

STATE, COMMIT, LOCK = "_state.json", "_commit.json", "_lock"


@dataclass(frozen=True)
class Written:
    """What a write did: the partitions it rewrote, the table's state after it, and the caller's measures of
    the rows it was given, per partition."""

    rewritten: list[str]
    state: dict[str, dict]
    measures: dict[str, dict[str, int]]

    @property
    def table_rows(self) -> int:
        return sum(entry["rows"] for entry in self.state.values())


def _write_json_atomically(path: Path, value) -> None:
    write_text_atomically(path, json.dumps(value, sort_keys=True))


def _digest_columns(rows: DataFrame, measures: dict[str, Column]) -> list[Column]:
    """Aggregates of `rows`: their count, an order-independent digest of their content, and `measures`."""
    columns = [c for c in rows.columns if c != PARTITION_COLUMN]
    # xxhash64 skips nulls: the null flags keep (1, null) and (null, 1) apart.
    row_hash = F.xxhash64(*columns, *(F.isnull(c) for c in columns))
    return [
        F.count(F.lit(1)).alias("rows"),
        F.sum(row_hash.cast("decimal(38,0)")).alias("digest"),
        *(measure.alias(f"_measure_{i}") for i, measure in enumerate(measures.values())),
    ]


def _described(aggregates, measures: dict[str, Column]) -> tuple[dict, dict]:
    """A partition's state entry (rows and digest) and its measures, from the aggregates of `_digest_columns`."""
    return (
        {"rows": aggregates["rows"], "digest": str(aggregates["digest"])},
        {name: aggregates[f"_measure_{i}"] for i, name in enumerate(measures)},
    )


def partition_digests(rows: DataFrame, measures: dict[str, Column]) -> tuple[dict[str, dict], dict[str, dict]]:
    """Row count and an order-independent digest of the content, per partition, and any other aggregate
    `measures` of the rows (e.g. rule checks), all in one pass."""
    aggregates = rows.groupBy(PARTITION_COLUMN).agg(*_digest_columns(rows, measures)).collect()
    described = {r[PARTITION_COLUMN]: _described(r, measures) for r in aggregates}
    return {key: d[0] for key, d in described.items()}, {key: d[1] for key, d in described.items()}


NO_ROWS = {"rows": 0, "digest": "0"}  # the content of a partition without rows


def _entry(content: dict, measured: dict, extra_state: dict[str, dict] | None, key: str) -> dict:
    """A partition's state: its content (rows and digest), its measures, and what the caller keeps beside them."""
    return {**content, "measures": measured, **(extra_state or {}).get(key, {})}


def _content(entry: dict | None) -> tuple:
    """What says whether a partition's files must be rewritten: its row count and content digest."""
    return (entry or {}).get("rows"), (entry or {}).get("digest")


@dataclass(frozen=True)
class LocalLake:
    """A lake in a local (or mounted) folder."""

    root: str

    def __post_init__(self):
        if "://" in self.root:
            raise ValueError(
                f"lake root {self.root} is not a folder: the lake must be a local or mounted path "
                "(a lake on S3 needs an S3 commit protocol, not built yet: see README, Running on AWS)"
            )

    def table_path(self, table: TableSpec) -> Path:
        return Path(self.root) / table.zone / table.name

    def read(self, spark: SparkSession, table: TableSpec) -> DataFrame:
        """The whole table (all partitions); empty with the right schema before the first write."""
        with self._locked(table) as path:
            if not any(path.glob(f"{PARTITION_COLUMN}=*")):
                return empty_frame(spark, table.spark_schema)
            return spark.read.schema(table.spark_schema).parquet(str(path))

    def state(self, table: TableSpec) -> dict[str, dict]:
        """The last committed state. Lock-free (the file is replaced atomically), so a sensor does not wait,
        unless a commit is being applied or was left by a killed run: then after it is finished."""
        path = self.table_path(table)
        if (path / COMMIT).exists():
            with self._locked(table) as path:
                return self._state(path)
        return self._state(path)

    def replace_partitions(
        self,
        rows: DataFrame,
        table: TableSpec,
        partition_keys: list[str],
        extra_state: dict[str, dict] | None = None,
        measures: dict[str, Column] | None = None,
    ) -> Written:
        """Make the given partitions hold exactly `rows` of those partitions (none: empty).

        `extra_state` (per partition) is kept in the table state beside rows and digest,
        e.g. the fingerprint of the landed files the partition was parsed from. `measures`
        (aggregate expressions, e.g. a partition's first and last reading time) are computed
        in the same pass as the digests, kept in the state and returned.
        """
        rows = rows.where(F.col(PARTITION_COLUMN).isin(partition_keys))
        if len(partition_keys) == 1 and partition_keys[0] not in self.state(table):
            added = self._add_partition(rows, table, partition_keys[0], extra_state, measures or {})
            if added:
                return added
        rows = rows.persist()
        try:
            digests, measured = partition_digests(rows, measures or {})
            with self._locked(table) as path:
                state = self._state(path)
                new_state = dict(state)
                for key in partition_keys:
                    new_state[key] = _entry(digests.get(key, NO_ROWS), measured.get(key, {}), extra_state, key)
                rewrite = [key for key in partition_keys if _content(state.get(key)) != _content(new_state[key])]
                if any(state.get(key) != new_state[key] for key in partition_keys):
                    self._commit(path, rows, rewrite, new_state)
        finally:
            rows.unpersist()
        return Written(rewrite, new_state, measured)

    def _add_partition(
        self, rows: DataFrame, table: TableSpec, key: str, extra_state: dict | None, measures: dict[str, Column]
    ) -> Written | None:
        """A partition the table has never had (a new ingest date): nothing to compare it with, so it is
        written in one pass that also measures it, with no digest pass first. None if another writer added
        it meanwhile."""
        with self._locked(table) as path:
            state = self._state(path)
            if key in state:
                return None
            observation = Observation(f"stedi-{uuid.uuid4().hex}")
            staging = self._stage(path, rows.observe(observation, *_digest_columns(rows, measures)))
            content, measured = _described(observation.get, measures)
            if not content["rows"]:
                content, measured = NO_ROWS, {}  # as `partition_digests` has it: no rows, no group
            new_state = {**state, key: _entry(content, measured, extra_state, key)}
            self._swap_in(path, staging, [key], new_state)
        return Written([key], new_state, {key: measured} if content["rows"] else {})

    def _commit(self, path: Path, rows: DataFrame, keys: list[str], new_state: dict) -> None:
        """Stage the partitions `keys` and swap them in; the state is replaced even when no partition's
        content changed (e.g. only the fingerprint of its inputs). A partition left with no rows has no
        files: nothing is written for it (an empty quarantine costs no Spark job)."""
        with_rows = [key for key in keys if new_state[key]["rows"]]
        staging = self._stage(path, rows.where(F.col(PARTITION_COLUMN).isin(with_rows)) if with_rows else None)
        self._swap_in(path, staging, keys, new_state)

    @staticmethod
    def _stage(path: Path, rows: DataFrame | None) -> str:
        """Write `rows` (if any) to a new hidden staging folder of the table; its name."""
        staging = f"_staging-{uuid.uuid4().hex}"
        if rows is not None:
            rows.write.partitionBy(PARTITION_COLUMN).parquet(str(path / staging / "new"))
        return staging

    def _swap_in(self, path: Path, staging: str, keys: list[str], new_state: dict) -> None:
        """Record the commit (the commit point), then swap the staged partitions `keys` in."""
        plan = {"staging": staging, "partitions": keys, "state": new_state}
        _write_json_atomically(path / COMMIT, plan)
        self._apply(path, plan)

    @staticmethod
    def _apply(path: Path, plan: dict) -> None:
        """Swap staged partitions in; idempotent, so an interrupted commit can simply be re-applied."""
        staging = path / plan["staging"]
        old = staging / "old"
        old.mkdir(parents=True, exist_ok=True)
        for key in plan["partitions"]:
            name = f"{PARTITION_COLUMN}={key}"
            staged, target = staging / "new" / name, path / name
            if staged.exists() or plan["state"][key]["rows"] == 0:
                if target.exists():
                    target.rename(old / f"{name}-{uuid.uuid4().hex}")
                if staged.exists():
                    staged.rename(target)
        _write_json_atomically(path / STATE, plan["state"])
        (path / COMMIT).unlink()
        shutil.rmtree(staging)

    @staticmethod
    def _state(path: Path) -> dict[str, dict]:
        state_file = path / STATE
        return json.loads(state_file.read_text()) if state_file.exists() else {}

    @contextmanager
    def _locked(self, table: TableSpec):
        """Exclusive access to a table, after finishing or discarding what a killed run left: a commit to
        finish, staged partitions and temporary files to delete."""
        path = self.table_path(table)
        path.mkdir(parents=True, exist_ok=True)
        with open(path / LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                if (path / COMMIT).exists():
                    self._apply(path, json.loads((path / COMMIT).read_text()))
                for leftover in path.glob("_staging-*"):
                    shutil.rmtree(leftover)
                for leftover in (*leftover_temporaries(path / STATE), *leftover_temporaries(path / COMMIT)):
                    leftover.unlink()
                yield path
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)
