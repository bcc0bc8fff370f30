"""What a check is, and the checks many tables share. A check is one object: its name, what a failure means
(the UI shows it, so the reader knows what to do), its severity and its computation. A table declares its
checks in its module (`zones/`); the build runner computes them from what the build left (`Built`).

The schema check: pandera for the columns and their types, one Spark pass for the value rules. Both come
from the same table specs as the stored schema. pandera's PySpark backend runs a Spark job per nullable
column and per value check (about a second per table, most of it planning); here pandera only reads the
DataFrame's schema, and every value rule of a table is counted in a single aggregation, named as pandera
names its checks: the aggregation that computes the written partitions' digests (`Lake.replace_partitions`).
"""

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from stedi_assets.builds.outcome import Built, CheckOutcome
from stedi_assets.builds.stale import span_of_all
from stedi_assets.schemas.tables import PARTITION_COLUMN, PERSONAL_COLUMNS, TableSpec
from stedi_assets.transforms.trusted import customer_key


@dataclass(frozen=True)
class Check:
    """`compute(built)` returns (passed, metadata), or (passed, metadata, severity) when `severity` is None:
    then the case decides it. `severity` is what a failure is (ERROR stops the downstream tables, if
    `blocking`)."""

    name: str
    description: str
    severity: str | None
    compute: Callable[[Built], tuple]
    blocking: bool = True

    def __call__(self, built: Built) -> CheckOutcome:
        passed, metadata, *severity = self.compute(built)
        return CheckOutcome(self.name, bool(passed), self.severity or severity[0], metadata)


def check(name: str, description: str, severity: str | None = "ERROR", blocking: bool = True):
    """Declares the function below as the computation of a check."""
    return lambda compute: Check(name, description, severity, compute, blocking)


def pandera_schema(table: TableSpec):
    """Column names and types, strict: checked from the DataFrame's schema, without a Spark job. pandera is
    imported here, as a table is checked: it takes half a second, which the CLI's quick path need not wait."""
    import pandera.pyspark as pa

    columns = {c.name: pa.Column(c.spark_type, nullable=True) for c in table.checked_columns}
    return pa.DataFrameSchema(columns, name=table.name, strict=True)


# What a value breaking each kind of rule is (`ColumnSpec.value_rules`).
BROKEN = {
    "not_nullable": lambda column, value: value.isNull(),
    "min_value": lambda column, value: value < column.min_value,
    "pattern": lambda column, value: ~value.rlike(column.pattern),
}


def rule_breaks(table: TableSpec) -> dict[str, Column]:
    """Per value rule, the number of rows breaking it: aggregates, to compute in a pass made anyway
    (the write's digest pass, see `publish`)."""
    return {
        name: F.count_if(BROKEN[kind](column, F.col(column.name)))
        for column in table.checked_columns
        for name, kind in column.value_rules()
    }


def schema_failures(
    rows: DataFrame, partitions: list[str], table: TableSpec, rule_breaks_counted: dict[str, int] | None = None
) -> list[str]:
    """What breaks the schema in `rows`, the stored rows of `partitions` (no Spark job at all when there are
    none). The value rules' breaks are counted here unless `rule_breaks_counted` brings them from a pass over
    the same rows."""
    errors = dict(pandera_schema(table).validate(rows).pandera.errors) if partitions else {}
    failures = [
        f"{error['column']}: {error['check']}: {error['error'].split(' {')[0][:200]}"
        for by_reason in errors.values()
        for reason_errors in by_reason.values()
        for error in reason_errors
    ]
    if partitions and not failures:  # the value rules need the columns, with their types
        if rule_breaks_counted is None:
            measures = rule_breaks(table)
            rule_breaks_counted = dict(zip(measures, rows.agg(*measures.values()).first()))
        failures = [f"{rule}: {count} rows break it" for rule, count in rule_breaks_counted.items() if count]
    return failures


@check(
    "schema_valid",
    "pandera: the columns and their types (no other columns); then, in one pass over the rows just written, "
    "nullability and value rules. A failure lists each broken rule and how many rows break it; downstream "
    "tables are not built until it is fixed.",
)
def schema_valid(built: Built):
    """Validates what this run wrote; partitions it left alone were validated when they were written."""
    published = built.published
    failures = schema_failures(published.rows, published.rewritten, published.table, published.rule_breaks)
    return not failures, {"failures": failures, "validated_partitions": published.rewritten}


@check(
    "not_empty",
    "The table holds at least one row (a WARN). Empty means no landing data reached it, or no customer "
    "consents yet: check the landing root and the upstream checks.",
    "WARN",  # a table may rightly be empty for a while
)
def not_empty(built: Built):
    rows = built.published.table_rows
    return rows > 0, {"table_rows": rows}


@check(
    "one_row_per_customer",
    "Exactly one row per customer key (email, trimmed, lower-cased). Duplicates mean a stale customer state "
    "survived: re-materialize every partition of the table.",
)
def one_row_per_customer(built: Built):
    published = built.published
    customers = published.stored.select(customer_key(F.col("email"))).distinct().count()
    return customers == published.table_rows, {"customers": customers, "table_rows": published.table_rows}


@check(
    "no_personal_columns",
    "No email, name, phone, birth day or user column: data scientists must not receive direct personal data.",
)
def no_personal_columns(built: Built):
    personal = sorted(PERSONAL_COLUMNS.intersection(built.published.rows.columns))
    return not personal, {"personal_columns": personal}


def readings_distinct(time_column: str) -> Check:
    """Copies share their time (`time_column`), so only the stored rows within the written partitions' time
    span (kept in their state) are grouped, and the reader skips the rest."""

    @check(
        "readings_distinct",
        "No reading is stored twice: the rows this run wrote are distinct, and none is a copy of a reading kept "
        "in another ingest date. A copy means a join duplicated rows or an incremental run recomputed too "
        "little: drop the table (Spark's `DROP TABLE`, or pyiceberg's `drop_table`) and materialize it again, "
        "which computes every partition.",
    )
    def _distinct(built: Built):
        published = built.published
        span = span_of_all(published.state, published.rewritten)
        copies = 0
        if span:
            first, last = span
            nearby = published.stored.where(F.col(time_column).between(first, last))
            readings = nearby.groupBy(*published.table.column_names).agg(
                F.count(F.lit(1)).alias("stored"),
                F.max(F.col(PARTITION_COLUMN).isin(published.rewritten).cast("int")).alias("written"),
            )
            copies = readings.where((F.col("stored") > 1) & (F.col("written") == 1)).count()
        return copies == 0, {"readings_stored_twice": copies, "partitions_checked": len(published.rewritten)}

    return _distinct
