"""What every table step does after its transform: write the partitions, read them back, describe them."""

from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from stedi_assets.checks.schema import rule_breaks, schema_check
from stedi_assets.lake.iceberg_tables import Lake, Pinned
from stedi_assets.schemas.tables import PARTITION_COLUMN, PERSONAL_COLUMNS, TableSpec
from stedi_assets.steps.outcome import (
    PER_PARTITION,
    CheckOutcome,
    Markdown,
    TableOutcome,
    partition_metadata,
    whole_table,
)

PREVIEW_ROWS = 5
MASKED_COLUMNS = PERSONAL_COLUMNS | {"raw_text"}  # a quarantined line may hold anything


@dataclass(frozen=True)
class Published:
    """A table after a write: the whole table and its rewritten partitions as stored, row counts of the
    run's partitions, what to tell of each partition the run targets or the write rewrote (rows and
    measures), and the rows of the rewritten partitions that break each value rule."""

    table: TableSpec
    stored: DataFrame
    rows: DataFrame
    rows_by_partition: dict[str, int]
    table_rows: int
    rewritten: list[str]
    partitions: dict[str, dict]
    identifier: str
    location: str
    snapshot_id: int | None
    rule_breaks: dict[str, int]


def publish(
    lake: Lake,
    table: TableSpec,
    rows: DataFrame,
    partition_keys: list[str],
    write_keys: list[str] | None = None,
    extra_state: dict[str, dict] | None = None,
    measures: dict[str, Column] | None = None,
    pinned: Pinned | None = None,
) -> Published:
    """Write `rows` into `write_keys` (default: the run's partitions `partition_keys`; may hold others) and
    describe the run's partitions;
    `measures` are kept in each written partition's state. `pinned`: the table as the step found it before
    reading its inputs (`Lake.pin`)."""
    write_keys = partition_keys if write_keys is None else write_keys
    rules = rule_breaks(table)  # counted in the write's digest pass, not in a pass of their own
    written = lake.replace_partitions(rows, table, write_keys, extra_state, {**rules, **(measures or {})}, pinned)
    lake.document(table)
    stored = lake.read(rows.sparkSession, table)
    rewritten_rows = stored.where(F.col(PARTITION_COLUMN).isin(written.rewritten))
    return Published(
        table,
        stored,
        rewritten_rows,
        {key: written.state.get(key, {"rows": 0})["rows"] for key in partition_keys},
        written.table_rows,
        written.rewritten,
        {key: partition_metadata(written.state.get(key, {}), rules) for key in [*partition_keys, *written.rewritten]},
        lake.identifier(table),
        lake.location(table),
        written.snapshot_id,
        {rule: sum(written.measures.get(key, {}).get(rule, 0) for key in written.rewritten) for rule in rules},
    )


def preview(published: Published) -> Markdown:
    """A few of the rows just written, as Markdown, with personal fields masked."""
    rows = published.rows.limit(PREVIEW_ROWS).collect()
    columns = published.rows.columns
    masked = [["***" if c in MASKED_COLUMNS and row[c] is not None else str(row[c]) for c in columns] for row in rows]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return Markdown("\n".join(lines + ["| " + " | ".join(values) + " |" for values in masked]))


def schema_result(published: Published) -> CheckOutcome:
    """Validates what this run wrote; partitions it left alone were validated when they were written."""
    return schema_check(published.rows, published.rewritten, published.table, published.rule_breaks)


def table_outcome(
    published: Published, recomputed: list[str], checks: list[CheckOutcome], extra: dict | None = None
) -> TableOutcome:
    """What the whole table is now (`whole_table`) and a masked preview of what changed; and per partition
    (`PER_PARTITION`), what the step did to it, its rows and measures. `extra`: the step's own metadata."""
    recomputed, rewritten = set(recomputed), set(published.rewritten)
    metadata = {
        **(extra or {}),
        **whole_table(published.table_rows, published.identifier, published.location, published.snapshot_id),
        PER_PARTITION: {
            key: {**values, "recomputed": key in recomputed, "rewritten": key in rewritten}
            for key, values in published.partitions.items()
        },
    }
    if published.rewritten:
        metadata["preview"] = preview(published)
    return TableOutcome(published.table.name, metadata, [schema_result(published), *checks])
