"""The schema check: pandera for the columns and their types, one Spark pass for the value rules.

Both are built from the same table specs as the stored schema. pandera's
PySpark backend runs a Spark job per nullable column and per value check
(about a second per table, most of it planning); here pandera only reads the
DataFrame's schema, and every value rule of a table is counted in a single
aggregation, named as pandera names its checks: when a table is written, the
aggregation that computes its partition digests (see `LocalLake.replace_partitions`).
"""

import pandera.pyspark as pa
from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from stedi_assets.schemas.tables import TableSpec
from stedi_assets.steps.outcome import CheckOutcome

SCHEMA_CHECK = "schema_valid"
SCHEMA_CHECK_DESCRIPTION = (
    "pandera: the columns and their types (no other columns); then, in one pass over the rows just written, "
    "nullability and value rules. A failure lists each broken rule and how many rows break it; downstream "
    "tables are not built until it is fixed."
)


def pandera_schema(table: TableSpec) -> pa.DataFrameSchema:
    """Column names and types, strict: checked from the DataFrame's schema, without a Spark job."""
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


def count_rule_breaks(rows: DataFrame, table: TableSpec) -> dict[str, int]:
    measures = rule_breaks(table)
    return dict(zip(measures, rows.agg(*measures.values()).first()))


def schema_check(
    rows: DataFrame, partitions: list[str], table: TableSpec, rule_breaks_counted: dict[str, int] | None = None
) -> CheckOutcome:
    """Validates `rows`, the stored rows of `partitions` (no Spark job at all when there are none).

    The value rules' breaks are counted here unless `rule_breaks_counted` brings them from a pass over the
    same rows."""
    errors = dict(pandera_schema(table).validate(rows).pandera.errors) if partitions else {}
    failures = [
        f"{error['column']}: {error['check']}: {error['error'].split(' {')[0][:200]}"
        for by_reason in errors.values()
        for reason_errors in by_reason.values()
        for error in reason_errors
    ]
    if partitions and not failures:  # the value rules need the columns, with their types
        counted = count_rule_breaks(rows, table) if rule_breaks_counted is None else rule_breaks_counted
        failures = [f"{rule}: {count} rows break it" for rule, count in counted.items() if count]
    return CheckOutcome(SCHEMA_CHECK, not failures, "ERROR", {"failures": failures, "validated_partitions": partitions})
