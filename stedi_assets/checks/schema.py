"""pandera schema checks, built from the same table specs as the stored schema."""

import pandera.pyspark as pa
from pyspark.sql import DataFrame

from stedi_assets.checks.outcome import CheckOutcome
from stedi_assets.schemas.tables import PARTITION_COLUMN, STRING, ColumnSpec, TableSpec

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
SCHEMA_CHECK = "schema_valid"
SCHEMA_CHECK_DESCRIPTION = (
    "pandera: column types, nullability and value rules of the rows just written. "
    "A failure lists each broken rule; downstream tables are not built until it is fixed."
)


def _pandera_column(column: ColumnSpec) -> pa.Column:
    checks = []
    if column.min_value is not None:
        checks.append(pa.Check.ge(column.min_value))
    if column.pattern is not None:
        checks.append(pa.Check.str_matches(column.pattern))
    return pa.Column(column.spark_type, nullable=column.nullable, checks=checks)


def pandera_schema(table: TableSpec) -> pa.DataFrameSchema:
    partition = ColumnSpec(PARTITION_COLUMN, STRING, "Ingest date.", nullable=False, pattern=DATE_PATTERN)
    columns = {c.name: _pandera_column(c) for c in (*table.columns, partition)}
    return pa.DataFrameSchema(columns, name=table.name, strict=True)


def schema_check(rows: DataFrame, partitions: list[str], table: TableSpec) -> CheckOutcome:
    """pandera on `rows`, the stored rows of `partitions` (no Spark job at all when there are none)."""
    errors = dict(pandera_schema(table).validate(rows).pandera.errors) if partitions else {}
    failures = [
        f"{error['column']}: {error['check']}: {error['error'].split(' {')[0][:200]}"
        for by_reason in errors.values()
        for reason_errors in by_reason.values()
        for error in reason_errors
    ]
    return CheckOutcome(SCHEMA_CHECK, not failures, "ERROR", {"failures": failures, "validated_partitions": partitions})
