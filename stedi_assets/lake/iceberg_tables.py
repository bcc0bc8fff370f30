"""The lake: Apache Iceberg tables (format 2), partitioned by ingest date, in one catalog namespace.

A write replaces whole partitions in one Iceberg commit (`overwrite` by a filter on the partitions, so a
partition that has become empty is emptied too). The state of every partition (rows, content digest,
measures and what the caller keeps, such as input fingerprints) goes into the same commit's snapshot
summary (`partition_state`). Partitions whose content digest is unchanged are not rewritten, and a write
that changes nothing commits nothing, so re-running changes no file.

Writers run in parallel and commit optimistically. A step pins each table it writes (`pin`) before it reads
anything, and its commit validates that nobody changed the partitions it replaces since that snapshot. If
somebody did, the rows may come from older inputs than the other writer's: the write raises
`ConcurrentWrite` and the step is computed again. Commits on other partitions both land.
"""

import os
import uuid
import weakref
from dataclasses import dataclass, field
from functools import cached_property

from pyspark.errors import AnalysisException
from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from stedi_assets.lake.catalog import DEFAULT_NAMESPACE, LakeCatalog, snapshots_of
from stedi_assets.lake.conflicts import ConcurrentWrite
from stedi_assets.lake.partition_state import built_from_at, rows_of, state_at, summary_properties
from stedi_assets.schemas.tables import MASKED_COLUMNS, PARTITION_COLUMN, TableSpec, empty_frame

COMMIT_ID = "stedi.commit"  # finds a write's own snapshot among those committed since
# Iceberg's own words for a commit that lost a race.
CONFLICTS = ("ValidationException", "CommitFailedException")
NO_RETRIES = "commit.retry.num-retries"
COMMIT_ATTEMPTS = 5  # a state-only commit's, as Iceberg's own default: 4 retries

TABLE_PROPERTIES = {
    "format-version": "2",
    # Old metadata files go with the commits that replace them, not only at maintenance.
    "write.metadata.delete-after-commit.enabled": "true",
    "write.metadata.previous-versions-max": "20",
    "write.distribution-mode": "none",
    "write.spark.fanout.enabled": "true",
}


@dataclass(frozen=True)
class Pinned:
    """A table as a build found it before reading anything: its snapshot (None: no data yet), the state of
    every partition at that snapshot, and what the table was built from (`partition_state.BUILT_FROM`)."""

    snapshot_id: int | None
    state: dict[str, dict]
    built_from: dict = field(default_factory=dict)

    @property
    def table_rows(self) -> int:
        return rows_of(self.state)


@dataclass(frozen=True)
class Written:
    """What a write did: the partitions it rewrote, the table's state after it, the caller's measures of
    the rows it was given (per partition), the table's snapshot after it (None: still empty), and a few of the
    rows it wrote (`sample`)."""

    rewritten: list[str]
    state: dict[str, dict]
    measures: dict[str, dict[str, int]]
    snapshot_id: int | None
    sample: list = field(default_factory=list)


def row_digest(columns: list[str]) -> Column:
    """A row's share of its partition's content digest: the digest is the sum over the partition's rows, so it
    does not depend on their order."""
    # xxhash64 skips nulls: the null flags keep (1, null) and (null, 1) apart.
    return F.xxhash64(*columns, *(F.isnull(c) for c in columns)).cast("decimal(38,0)")


def _digest_columns(rows: DataFrame, measures: dict[str, Column]) -> list[Column]:
    """Aggregates of `rows`: their count, an order-independent digest of their content, and `measures`."""
    return [
        F.count(F.lit(1)).alias("rows"),
        F.sum(row_digest([c for c in rows.columns if c != PARTITION_COLUMN])).alias("digest"),
        *(measure.alias(f"_measure_{i}") for i, measure in enumerate(measures.values())),
    ]


# Per partition, its row count and content digest ({"rows", "digest"}), and its measures (by name).
Counted = tuple[dict[str, dict], dict[str, dict]]


def partition_digests(rows: DataFrame, measures: dict[str, Column]) -> Counted:
    """Row count and an order-independent digest of the content, per partition, and any other aggregate
    `measures` of the rows (e.g. rule checks), all in one pass."""
    aggregates = rows.groupBy(PARTITION_COLUMN).agg(*_digest_columns(rows, measures)).collect()
    return (
        {r[PARTITION_COLUMN]: {"rows": r["rows"], "digest": str(r["digest"])} for r in aggregates},
        {r[PARTITION_COLUMN]: {name: r[f"_measure_{i}"] for i, name in enumerate(measures)} for r in aggregates},
    )


# The catalog config each session was last pointed at (`Lake.attach`), as attach set it.
_ATTACHED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

NO_ROWS = {"rows": 0, "digest": "0"}  # the content of a partition without rows


def _content(entry: dict | None) -> tuple:
    """What says whether a partition's files must be rewritten: its row count and content digest."""
    return (entry or {}).get("rows"), (entry or {}).get("digest")


def snapshot_summary(snapshot) -> dict[str, str]:
    """A pyiceberg snapshot's summary properties (its operation aside)."""
    return dict(snapshot.summary.additional_properties) if snapshot.summary else {}


def _pinned(current: int | None, snapshots: dict[int, tuple[int | None, dict]]) -> Pinned:
    """The table at snapshot `current` (None: no data yet), from its snapshots' parents and summaries."""
    if current is None:
        return Pinned(None, {})
    return Pinned(current, state_at(current, snapshots), built_from_at(current, snapshots))


def _table_snapshots(iceberg) -> tuple[int | None, dict[int, tuple[int | None, dict]]]:
    """A pyiceberg table's current snapshot id and each snapshot's parent and summary, as `snapshots_of` gives
    them from a metadata file ((None, {}) before the table exists)."""
    snapshot = iceberg.current_snapshot() if iceberg else None
    if snapshot is None:
        return None, {}
    return snapshot.snapshot_id, {
        s.snapshot_id: (s.parent_snapshot_id, snapshot_summary(s)) for s in iceberg.snapshots()
    }


def _pinned_table(iceberg) -> Pinned:
    """A pyiceberg table as it is (none before the table exists)."""
    return _pinned(*_table_snapshots(iceberg))


def _sql_text(text: str) -> str:
    """`text` as a Spark SQL string literal."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def _is_conflict(error: Exception) -> bool:
    return any(name in str(error) for name in CONFLICTS)


@dataclass(frozen=True)
class Lake:
    """The lake's tables under `root` (a local folder or `s3://bucket/prefix`), in `namespace`."""

    root: str
    namespace: str = DEFAULT_NAMESPACE
    _documented: set = field(default_factory=set, init=False, repr=False, compare=False)

    @cached_property
    def catalog(self) -> LakeCatalog:
        return LakeCatalog(self.root, self.namespace)

    def location(self, table: TableSpec) -> str:
        return self.catalog.location(table.zone, table.name)

    def identifier(self, table: TableSpec) -> str:
        return self.catalog.identifier(table.name)

    def read(self, spark: SparkSession, table: TableSpec, snapshot_id: int | None = None) -> DataFrame:
        """The whole table (all partitions), as of `snapshot_id` if given, else now; empty with the right schema
        before the first write."""
        self.attach(spark)
        try:
            if snapshot_id is not None:
                return spark.read.option("snapshot-id", str(snapshot_id)).table(self.identifier(table))
            return spark.table(self.identifier(table))  # one catalog lookup, where tableExists would add one
        except AnalysisException as error:
            if "TABLE_OR_VIEW_NOT_FOUND" not in str(error):
                raise
            return empty_frame(spark, table.spark_schema)

    def pin(self, table: TableSpec) -> Pinned:
        """The table's current snapshot and its partitions' state, from one read of the catalog, without Spark."""
        return _pinned(*self._snapshots(table))

    def _snapshots(self, table: TableSpec) -> tuple[int | None, dict[int, tuple[int | None, dict]]]:
        """The table's current snapshot id and each snapshot's parent and summary: a local table's from its
        metadata file (no pyiceberg to load), a table on S3's through pyiceberg and its catalog."""
        if self.catalog.on_s3:
            return _table_snapshots(self.iceberg(table))
        return self.catalog.local_snapshots(table.name)

    def states_at(self, table: TableSpec, snapshot_ids: list[int | None]) -> list[dict[str, dict] | None]:
        """Every partition's state as of each of the table's snapshots `snapshot_ids` (None: before its first, so
        no partitions), from one read of its metadata; None for a snapshot the lake no longer keeps."""
        _, snapshots = self._snapshots(table)
        return [
            state_at(snapshot_id, snapshots) if snapshot_id is None or snapshot_id in snapshots else None
            for snapshot_id in snapshot_ids
        ]

    def pins(self, tables) -> dict[str, Pinned]:
        """Each of `tables` as it is now (`pin`), by name: one read of each, for all who need it."""
        return {table.name: self.pin(table) for table in tables}

    def state(self, table: TableSpec) -> dict[str, dict]:
        """Every partition's state as of the table's current snapshot."""
        return self.pin(table).state

    def replace_partitions(
        self,
        rows: DataFrame | None,
        table: TableSpec,
        partition_keys: list[str],
        extra_state: dict[str, dict] | None = None,
        measures: dict[str, Column] | None = None,
        pinned: Pinned | None = None,
        built_from: dict | None = None,
        sample: int = 0,
        counted: Counted | None = None,
    ) -> Written:
        """Make the given partitions hold exactly `rows` of those partitions (none: empty).

        `extra_state` (per partition) is kept in the table state beside rows and digest, e.g. the
        fingerprint of the landed files the partition was parsed from. `measures` (aggregate expressions,
        e.g. a partition's first and last reading time) are computed in the same pass as the digests,
        kept in the state and returned. `pinned`: the table as the caller found it before computing `rows`
        (default: as this call finds it). If another writer changed a partition to replace since then, the
        write raises `ConcurrentWrite` and changes nothing. `built_from`: what the whole table is now built
        from, committed (alone, if nothing else changed) when the table said otherwise. `sample`: how many of
        the rows written to return, taken from the rows in hand rather than by reading the table back.
        `counted`: the rows' digests and `measures` per partition (as `partition_digests` gives them), when the
        caller computed them in a pass of its own; then this write makes no pass for them, and the state takes
        the row counts of the files written wherever they differ (`_recount`).

        `rows` None: the caller knows these partitions hold no rows without computing them (their inputs have
        none). Then no Spark job runs, and where no file must go either, the commit carries the new state alone
        (`_commit_state_only`).
        """
        persisted = rows is not None and counted is None  # the digest pass and the write both read the rows
        if rows is not None:
            self.attach(rows.sparkSession)
            rows = rows.where(F.col(PARTITION_COLUMN).isin(partition_keys))
            rows = rows.persist() if persisted else rows
        try:
            if rows is None:
                digests, measured = {}, {}
            elif counted is not None:
                digests, measured = counted
            else:
                digests, measured = partition_digests(rows, measures or {})
            new_entries = {
                key: {
                    **digests.get(key, NO_ROWS),
                    "measures": measured.get(key, {}),
                    **(extra_state or {}).get(key, {}),
                }
                for key in partition_keys
            }
            current = self.pin(table)
            pinned = pinned or current
            new_state = {**current.state, **new_entries}
            rewrite = [key for key in partition_keys if _content(current.state.get(key)) != _content(new_entries[key])]
            unchanged = all(current.state.get(key) == new_entries[key] for key in partition_keys)
            if unchanged and built_from in (None, current.built_from):
                # A recount that a crash or lost races kept from its commit is made now.
                state, snapshot = (new_state, current.snapshot_id)
                if counted is not None:
                    state, snapshot = self._recount(table, snapshot, state, partition_keys)
                return Written([], state, measured, snapshot)
            if pinned.snapshot_id is None and (created := [key for key in rewrite if key in current.state]):
                raise ConcurrentWrite(f"{table.name}: another writer created the table with {created} first")
            # Only the entries this write changes: if Iceberg re-applies the commit on top of another writer's
            # (`partition_state`), an entry it merely repeated must not undo that writer's.
            changed = [key for key in partition_keys if current.state.get(key) != new_entries[key]]
            if rows is None:
                files_to_drop = [key for key in rewrite if current.state.get(key, {}).get("rows")]
                # A partition without state is new, or lost its entry with an expired snapshot: its files tell.
                unknown = [key for key in rewrite if key not in current.state]
                if current.snapshot_id is not None and not files_to_drop and not self._has_files(table, unknown):
                    return self._commit_state_only(table, pinned, new_entries, rewrite, changed, built_from)
                rows = empty_frame(SparkSession.active(), table.spark_schema)
                self.attach(rows.sparkSession)
            try:
                properties = summary_properties(new_state, current.snapshot_id, changed, built_from)
                with_rows = rows.where(F.col(PARTITION_COLUMN).isin([key for key in rewrite if new_state[key]["rows"]]))
                base = current.snapshot_id
                snapshot = self._commit(rows.sparkSession, with_rows, table, rewrite, properties, base, pinned)
            except Exception as error:
                if _is_conflict(error):
                    raise ConcurrentWrite(f"{table.name}: another writer changed {rewrite} first") from error
                raise
            if counted is not None:
                new_state, snapshot = self._recount(table, snapshot, new_state, rewrite)
            rows_written = with_rows.limit(sample).collect() if sample and rewrite else []
            return Written(rewrite, new_state, measured, snapshot, rows_written)
        finally:
            if persisted:
                rows.unpersist()

    def _commit_state_only(
        self,
        table: TableSpec,
        pinned: Pinned,
        new_entries: dict[str, dict],
        rewrite: list[str],
        changed: list[str],
        built_from: dict | None,
    ) -> Written:
        """`replace_partitions` of partitions that hold no files, before and after: their new state committed
        alone (`_commit_state`, no Spark). It fails with `ConcurrentWrite` if another writer changed them since
        `pinned`; a commit of another writer on other partitions meanwhile makes it read the state again and
        retry, as Iceberg re-applies a Spark write."""

        def entries(state: dict[str, dict]) -> dict[str, dict]:
            if moved := sorted(key for key in new_entries if state.get(key) != pinned.state.get(key)):
                raise ConcurrentWrite(f"{table.name}: another writer changed {moved} first")
            return {key: new_entries[key] for key in changed}

        source = {} if built_from is None else built_from
        state, snapshot_id = self._commit_state(table, entries, {}, source, attempts=COMMIT_ATTEMPTS)
        return Written(rewrite, state, {}, snapshot_id)

    def _data_files(self, table: TableSpec, keys: list[str], snapshot_id: int | None = None):
        """The data files of the partitions `keys` at the snapshot (default: the current one), from the manifests
        only (pyiceberg's scan planning: no data file is read)."""
        from pyiceberg.expressions import In

        scan = self.iceberg(table).scan(row_filter=In(PARTITION_COLUMN, keys), snapshot_id=snapshot_id)
        return (task.file for task in scan.plan_files())

    def _has_files(self, table: TableSpec, keys: list[str]) -> bool:
        """Whether any data file of the table's current snapshot is in the partitions `keys`."""
        return bool(keys) and any(True for _ in self._data_files(table, keys))

    def stored_rows(self, table: TableSpec, snapshot_id: int | None, keys: list[str]) -> dict[str, int]:
        """Per partition of `keys`, the rows its data files hold at the snapshot, as Iceberg's manifests count
        them. A count independent of whatever the writer computed about the rows it wrote."""
        rows = dict.fromkeys(keys, 0)
        if snapshot_id is None or not keys:
            return rows
        for file in self._data_files(table, keys, snapshot_id):
            rows[file.partition[0]] += file.record_count  # the table's one partition field
        return rows

    def _recount(
        self, table: TableSpec, snapshot_id: int, state: dict[str, dict], keys: list[str]
    ) -> tuple[dict[str, dict], int]:
        """After a write whose row counts the caller computed (`counted`): each partition of `keys` whose data files
        hold another number of rows, as Iceberg's manifests count them, gets the files' count in its state (one
        more commit, made only then, retried on another writer's commit like a state-only write). A row lost or
        invented between the caller's count and the commit (a bug) then shows in the state, where checks read
        it, in this run and later ones; and the next write of that partition rewrites it, since its count
        differs. Returns the state and the snapshot that holds it."""
        stored = self.stored_rows(table, snapshot_id, keys)
        wrong = {key: rows for key, rows in stored.items() if rows != state[key]["rows"]}
        if not wrong:
            return state, snapshot_id

        def recounted(now: dict[str, dict]) -> dict[str, dict]:
            # Only entries still this write's: another writer may have replaced a partition since.
            ours = [key for key in wrong if _content(now.get(key)) == _content(state[key])]
            return {key: {**now[key], "rows": wrong[key]} for key in ours}

        return self._commit_state(table, recounted, {}, None, attempts=COMMIT_ATTEMPTS)

    def amend_state(
        self, table: TableSpec, change, note: dict[str, str], built_from: dict | None = None
    ) -> dict[str, dict]:
        """Commit a change of partition state alone (no data file changes): `change(state)` returns the new
        entries of the partitions it changes, or raises to commit nothing. `note` goes in the snapshot summary
        too, and `built_from` replaces what the table says it was built from (default: kept). The commit is
        pyiceberg's, without Spark, and fails with `ConcurrentWrite` if another writer committed since the state
        was read. Returns the table's new state."""
        return self._commit_state(table, change, note, built_from)[0]

    def _commit_state(
        self, table: TableSpec, change, note: dict[str, str], built_from: dict | None, attempts: int = 1
    ) -> tuple[dict[str, dict], int]:
        """`amend_state`, returning the new state and the snapshot that holds it. With `attempts` > 1, an attempt
        that another writer's commit beat reads the state again and asks `change` again, up to that many times."""
        import pyarrow as pa
        from pyiceberg.exceptions import CommitFailedException
        from pyiceberg.table import Table

        attempt = 1
        while True:
            iceberg = self.iceberg(table)
            pinned = _pinned_table(iceberg)
            if pinned.snapshot_id is None:
                raise ValueError(f"{table.name} holds no data yet")
            changed = change(pinned.state)
            new_state = {**pinned.state, **changed}
            source = pinned.built_from if built_from is None else built_from
            properties = {**summary_properties(new_state, pinned.snapshot_id, list(changed), source), **note}
            # The state committed is the state read: pyiceberg's own retry would re-apply it on a newer snapshot,
            # whose entry for a changed partition it would overwrite. So each attempt commits once.
            once = Table(
                iceberg.name(),
                iceberg.metadata.model_copy(update={"properties": {**iceberg.properties, NO_RETRIES: "0"}}),
                iceberg.metadata_location,
                iceberg.io,
                iceberg.catalog,
            )
            try:  # an append of no rows: a snapshot that only carries its summary
                once.append(pa.Table.from_pylist([], iceberg.schema().as_arrow()), snapshot_properties=properties)
                return new_state, once.current_snapshot().snapshot_id
            except CommitFailedException as error:
                if attempt >= attempts:
                    raise ConcurrentWrite(f"{table.name}: another writer committed first; try again") from error
                attempt += 1

    def document(self, table: TableSpec) -> None:
        """Give the stored table the contract's column descriptions and required columns (`TableSpec`), so
        readers outside Dagster (pyiceberg, Spark, Athena) see what the UI shows: a change of schema metadata
        (no snapshot, no data file), made where the table differs, checked once per table and `Lake`.

        A column of an existing table becomes required only when no partition's state records a null in it
        (the schema check counts them as each partition is written): a required column cannot hold one."""
        if table.name in self._documented:
            return
        stored = self._schema_and_state(table)
        if stored is None:
            return
        fields, state = stored

        def null_free(rule: str) -> bool:
            return all(not entry.get("rows") or entry.get("measures", {}).get(rule) == 0 for entry in state.values())

        differ = {name: doc for name, doc in table.column_docs.items() if fields[name].get("doc") != doc}
        require = [
            column.name
            for column in table.checked_columns
            for rule, kind in column.value_rules()
            if kind == "not_nullable" and not fields[column.name]["required"] and null_free(rule)
        ]
        if differ or require:
            from pyiceberg.exceptions import CommitFailedException

            try:
                with self.iceberg(table).update_schema(allow_incompatible_changes=bool(require)) as update:
                    for name, doc in differ.items():
                        update.update_column(name, doc=doc)
                    for name in require:
                        update.update_column(name, required=True)
            except CommitFailedException:  # another writer committed meanwhile: the next write tries again
                return
        self._documented.add(table.name)

    def _schema_and_state(self, table: TableSpec) -> tuple[dict[str, dict], dict[str, dict]] | None:
        """The stored table's columns (their `doc` and `required`, as the Iceberg spec's JSON has them) and its
        partitions' state, from one read; None before the table exists. A local lake's come from its metadata
        file, without loading pyiceberg."""
        if self.catalog.on_s3:
            iceberg = self.iceberg(table)
            if iceberg is None:
                return None
            fields = {f.name: {"doc": f.doc, "required": f.required} for f in iceberg.schema().fields}
            return fields, _pinned_table(iceberg).state
        metadata = self.catalog.local_metadata(table.name)
        if metadata is None:
            return None
        schema = next(s for s in metadata["schemas"] if s["schema-id"] == metadata["current-schema-id"])
        return {field["name"]: field for field in schema["fields"]}, _pinned(*snapshots_of(metadata)).state

    def attach(self, spark: SparkSession) -> None:
        """Point the session's catalog `lake` at this lake. A session that served another lake (tests run
        many lakes in one JVM) forgets that catalog first: Spark keeps a catalog once it has loaded it."""
        if not self.catalog.on_s3:
            os.makedirs(self.catalog.root, exist_ok=True)  # the JDBC catalog makes its SQLite file, not folders
        config = self.catalog.spark_catalog_config()
        if _ATTACHED.get(spark) == config:  # no round trips to read the config back (one each on Spark Connect)
            return
        current = {key: spark.conf.get(key, None) for key in config}
        if current != config:
            for key, value in config.items():
                spark.conf.set(key, value)
            if any(value is not None for value in current.values()):
                spark._jsparkSession.sessionState().catalogManager().reset()
        _ATTACHED[spark] = config

    def _commit(
        self,
        spark: SparkSession,
        rows: DataFrame,
        table: TableSpec,
        rewrite: list[str],
        properties: dict[str, str],
        base: int | None,
        pinned: Pinned,
    ) -> int:
        """One Iceberg commit: the partitions `rewrite` replaced by `rows` (a partition without rows has no
        files), with the summary `properties` (the new state computed from `base`). It fails if another commit
        changed these partitions since the snapshot the caller pinned."""
        if base is None:  # a table with a snapshot exists
            self._create(spark, table)
        commit_id = uuid.uuid4().hex
        options = {
            **{f"snapshot-property.{k}": v for k, v in properties.items()},
            f"snapshot-property.{COMMIT_ID}": commit_id,
            "isolation-level": "serializable",
        }
        # With no distribution (the tables' mode) each task of a write writes a file into every partition it holds
        # rows of: a build over 100 ingest dates left 3 to 4 files in each partition of a derived table, and every
        # later read of a whole table (the customer tables, the checks) opened them all. A write that spans at least
        # as many partitions as a shuffle has tasks is shuffled by partition first (Iceberg's `hash` mode): one file
        # a partition, every task still busy. A write of fewer (a new date, the starter data's one date) keeps
        # `none`, else one task would write a partition alone (hash made a run of the starter data about 1 s
        # longer). Measured: see docs/architecture.md, "Files per partition".
        if len(rewrite) >= int(spark.conf.get("spark.sql.shuffle.partitions")):
            options["distribution-mode"] = "hash"
        if pinned.snapshot_id is not None:
            options["validate-from-snapshot-id"] = str(pinned.snapshot_id)
        replaced = F.col(PARTITION_COLUMN).isin(rewrite) if rewrite else F.lit(False)
        rows.writeTo(self.identifier(table)).options(**options).overwrite(replaced)
        return self._snapshot_of_commit(table, commit_id)

    def _create(self, spark: SparkSession, table: TableSpec) -> None:
        """The namespace and the table, if they do not exist yet, its columns required as the contract says
        (Spark checks each row written for a null in them)."""
        identifier = self.identifier(table)
        if spark.catalog.tableExists(identifier):
            return
        docs = table.column_docs  # given here, `document` has nothing to change: no schema commit per new table
        columns = ", ".join(
            f"`{column.name}` {column.dataType.simpleString()}{'' if column.nullable else ' NOT NULL'}"
            f" COMMENT {_sql_text(docs[column.name])}"
            for column in table.spark_schema
        )
        masked = {f"write.metadata.metrics.column.{c}": "none" for c in table.column_names if c in MASKED_COLUMNS}
        properties = ", ".join(f"'{key}' = '{value}'" for key, value in {**TABLE_PROPERTIES, **masked}.items())
        try:
            spark.sql(f"CREATE NAMESPACE IF NOT EXISTS lake.`{self.namespace}`")
        except Exception:  # another writer created it between the check and the create (seen in CI: JDBC's insert)
            if self.namespace not in [row[0] for row in spark.sql("SHOW NAMESPACES IN lake").collect()]:
                raise
        try:
            spark.sql(
                f"CREATE TABLE IF NOT EXISTS {identifier} ({columns}) USING iceberg "
                f"PARTITIONED BY (`{PARTITION_COLUMN}`) LOCATION {_sql_text(self.location(table))} "
                f"COMMENT {_sql_text(table.description)} TBLPROPERTIES ({properties})"
            )
        except Exception as error:  # another writer created it between the check and the create
            if "AlreadyExists" not in str(error):
                raise

    @cached_property
    def _python_catalog(self):
        return self.catalog.pyiceberg()

    def iceberg(self, table: TableSpec):
        """The table's metadata through pyiceberg, or None before the table exists."""
        if not self.catalog.exists():
            return None
        from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

        try:
            return self._python_catalog.load_table((self.namespace, table.name))
        except (NoSuchTableError, NoSuchNamespaceError):
            return None

    def _snapshot_of_commit(self, table: TableSpec, commit_id: str) -> int:
        snapshots = self._snapshots(table)[1]
        return next(
            snapshot_id
            for snapshot_id, (_, summary) in reversed(snapshots.items())
            if summary.get(COMMIT_ID) == commit_id
        )
