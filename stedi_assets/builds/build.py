"""A table's declaration (`Table`), a build of one or more tables (`Build`), and what every build does after
its transform: write the partitions, read them back, describe them, compute the table's checks."""

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from stedi_assets.builds.checks import Check, rule_breaks
from stedi_assets.builds.outcome import (
    PER_PARTITION,
    Built,
    CheckOutcome,
    Markdown,
    Published,
    TableOutcome,
    partition_metadata,
    whole_table,
)
from stedi_assets.lake.iceberg_tables import Counted, Lake, Pinned
from stedi_assets.landing_files import LandingRoot
from stedi_assets.options import StediOptions
from stedi_assets.pseudonym_key import key_id
from stedi_assets.schemas.tables import MASKED_COLUMNS, PARTITION_COLUMN, TableSpec
from stedi_assets.transforms.consent import Belongs


@dataclass(frozen=True)
class Table:
    """What a table's module declares besides its computation: the table (`schemas/tables.py`), its checks, in
    the order they run, and its code version (bump it with any change to what its build writes: the next run
    recomputes the table, and the tables downstream of it wherever its content changed). `upstream`: tables
    read whole (consent and de-duplication look across ingest dates); `upstream_same_date`: tables read at
    the run's dates. `column_sources`: where each column comes from (upstream table, column), for lineage.
    `shaped_by`: the options (`StediOptions` fields) its rows depend on. `belongs`: which of its rows are of
    customers who consent now (`transforms.consent`; trusted and curated tables), so a kept version of the
    table can be re-issued without a customer who withdrew. `after_passing`: what the build does once the
    table's ERROR checks pass (training_set keeps the version), returning metadata for the materialization.
    `group`: the Dagster asset group, the table's zone unless given."""

    spec: TableSpec
    checks: tuple[Check, ...]
    code_version: str
    upstream: tuple[TableSpec, ...] = ()
    upstream_same_date: tuple[TableSpec, ...] = ()
    column_sources: dict[str, list[tuple[TableSpec, str]]] | None = None
    shaped_by: tuple[str, ...] = ()
    belongs: Belongs | None = None
    after_passing: Callable[["BuildInputs"], dict] | None = None
    group: str | None = None


def same_names(table: TableSpec, upstream: TableSpec) -> dict[str, list[tuple[TableSpec, str]]]:
    """Column sources of a table whose every column comes from the same-named column of `upstream`."""
    return {column: [(upstream, column)] for column in table.column_names}


@dataclass(frozen=True)
class BuildInputs:
    """`partition_keys`: the ingest dates the run targets. `registered_partition_keys`: every ingest date; the
    trusted and curated builds recompute any of them whose inputs changed (`run_targets`). `built_from`: per
    derived table of the build, what it is built from, taken by `run_build` before the build reads anything."""

    spark: SparkSession
    lake: Lake
    landing_root: LandingRoot
    options: StediOptions
    partition_keys: list[str]
    registered_partition_keys: list[str]
    built_from: dict[str, dict] = field(default_factory=dict)


@dataclass(frozen=True)
class Build:
    """The work of one asset (or multi-asset, named `name`): `compute` writes its `tables` together and returns
    what it left of each (`Built`, in the order of `tables`)."""

    name: str
    tables: tuple[Table, ...]
    compute: Callable[[BuildInputs], list[Built]]


def upstream_of(table: Table) -> tuple[TableSpec, ...]:
    return (*table.upstream_same_date, *table.upstream)


def shaping_options(table: Table, options: StediOptions) -> dict:
    """The options the table's rows depend on, as its fingerprints keep them (the pseudonym key as `key_id`)."""
    values = {name: getattr(options, name) for name in table.shaped_by}
    if "pseudonym_key" in values:
        values["pseudonym_key"] = key_id(values["pseudonym_key"])
    if "split_shares" in values:
        values["split_shares"] = list(values["split_shares"])
    return values


def built_from(table: Table, snapshots: dict[str, int | None], options: StediOptions) -> dict | None:
    """What a derived table is built from: its inputs' snapshots (`snapshots`, by table name), its code version and
    the options that shape its rows. A table says it in its commits, so the lake itself tells whether it is up
    to date. None for a landing table: each partition's state says which files it was parsed from."""
    if not upstream_of(table):
        return None
    return {
        "input_snapshots": {spec.name: str(snapshots[spec.name]) for spec in upstream_of(table)},
        "code_version": table.code_version,
        "options": shaping_options(table, options),
    }


PREVIEW_ROWS = 5


def run_build(build: Build, inputs: BuildInputs) -> list[TableOutcome]:
    """Computes the build's tables, then each table's checks from what it left. What each table is built from
    is taken first: an input that changes meanwhile makes the table out of date, never wrongly up to date."""
    upstream = {spec for table in build.tables for spec in upstream_of(table)}
    snapshots = {spec.name: inputs.lake.pin(spec).snapshot_id for spec in upstream}
    sources = {table.spec.name: built_from(table, snapshots, inputs.options) for table in build.tables}
    inputs = replace(inputs, built_from={name: source for name, source in sources.items() if source})
    outcomes = []
    for table, built in zip(build.tables, build.compute(inputs), strict=True):
        checks = [check(built) for check in table.checks]
        failed = [check.name for check in checks if not check.passed and check.severity == "ERROR"]
        if failed and table.spec.name in inputs.built_from:
            # Written, but not up to date: the next run must compute it and tell the failure again.
            inputs.lake.amend_state(table.spec, lambda state: {}, {}, built_from={"failed_checks": failed})
        if table.after_passing and not failed:
            built = replace(built, metadata={**built.metadata, **table.after_passing(inputs)})
        outcomes.append(table_outcome(built, checks))
    return outcomes


def written_measures(table: TableSpec, measures: dict[str, Column] | None = None) -> dict[str, Column]:
    """What a write of `table` measures per partition: its value rules' breaks (counted in the write's digest
    pass, not in a pass of their own), and `measures`."""
    return {**rule_breaks(table), **(measures or {})}


def publish(
    inputs: BuildInputs,
    table: TableSpec,
    rows: DataFrame | None,
    write_keys: list[str] | None = None,
    extra_state: dict[str, dict] | None = None,
    measures: dict[str, Column] | None = None,
    pinned: Pinned | None = None,
    counted: Counted | None = None,
) -> Published:
    """Write `rows` into `write_keys` (default: the run's partitions; may hold others) and describe the run's
    partitions; `measures` are kept in each written partition's state. `pinned`: the table as the build found
    it before reading its inputs (`Lake.pin`). `rows` None: `write_keys` hold no rows, known from the inputs'
    state (`builds.stale.rows_in`), so no Spark job computes them. `counted`: the rows' digests and
    `written_measures`, when the build computed them in a pass it makes anyway (`Lake.replace_partitions`)."""
    lake, partition_keys = inputs.lake, inputs.partition_keys
    write_keys = partition_keys if write_keys is None else write_keys
    rules = table.rule_names
    # Built only for the write's own pass: each expression costs calls into the JVM.
    measures = written_measures(table, measures) if counted is None else {}
    source = inputs.built_from.get(table.name)
    written = lake.replace_partitions(
        rows, table, write_keys, extra_state, measures, pinned, source, PREVIEW_ROWS, counted
    )
    lake.document(table)
    stored = lake.read(inputs.spark, table)
    rewritten_rows = stored.where(F.col(PARTITION_COLUMN).isin(written.rewritten))
    return Published(
        table,
        stored,
        rewritten_rows,
        written.sample,
        {key: written.state.get(key, {"rows": 0})["rows"] for key in partition_keys},
        written.state,
        written.rewritten,
        {key: partition_metadata(written.state.get(key, {}), rules) for key in [*partition_keys, *written.rewritten]},
        lake.identifier(table),
        lake.location(table),
        written.snapshot_id,
        {rule: sum(written.measures.get(key, {}).get(rule, 0) for key in written.rewritten) for rule in rules},
    )


def preview(published: Published) -> Markdown:
    """A few of the rows just written (taken as they were written: no read of the table), as Markdown, with
    personal fields masked."""
    columns = published.rows.columns
    masked = [
        ["***" if c in MASKED_COLUMNS and row[c] is not None else str(row[c]) for c in columns]
        for row in published.sample
    ]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return Markdown("\n".join(lines + ["| " + " | ".join(values) + " |" for values in masked]))


def table_outcome(built: Built, checks: list[CheckOutcome]) -> TableOutcome:
    """What the whole table is now (`whole_table`) and a masked preview of what changed; and per partition
    (`PER_PARTITION`), what the build did to it, its rows and measures, and the build's own values."""
    published = built.published
    recomputed, rewritten = set(built.recomputed), set(published.rewritten)
    metadata = {
        **built.metadata,
        **whole_table(published.table_rows, published.identifier, published.location, published.snapshot_id),
        PER_PARTITION: {
            key: {
                **values,
                "recomputed": key in recomputed,
                "rewritten": key in rewritten,
                **built.per_partition.get(key, {}),
            }
            for key, values in published.partitions.items()
        },
    }
    if published.rewritten:
        metadata["preview"] = preview(published)
    return TableOutcome(published.table.name, metadata, checks)
