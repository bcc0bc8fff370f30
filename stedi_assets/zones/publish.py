"""What every zone asset does after its transform: write the partitions, read them back, describe them."""

from dataclasses import dataclass

import dagster as dg
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from stedi_assets.checks.counts import count_check, count_check_specs
from stedi_assets.checks.schema import schema_check, schema_check_spec
from stedi_assets.partitions import ingest_date_partitions
from stedi_assets.resources.lake import LocalLake
from stedi_assets.schemas.lineage import column_lineage
from stedi_assets.schemas.tables import PARTITION_COLUMN, PERSONAL_COLUMNS, TableSpec


@dataclass(frozen=True)
class Published:
    """A table after a write: the rewritten partitions as stored, row counts of the run's partitions."""

    table: TableSpec
    rows: DataFrame
    rows_by_partition: dict[str, int]
    table_rows: int
    rewritten: list[str]
    path: str

    @property
    def asset_key(self) -> dg.AssetKey:
        return dg.AssetKey(self.table.name)


def publish(
    lake: LocalLake,
    table: TableSpec,
    rows: DataFrame,
    partition_keys: list[str],
    write_keys: list[str] | None = None,
    extra_state: dict[str, dict] | None = None,
) -> Published:
    """Write `rows` into `write_keys` (default: all the run's partitions) and describe the run's partitions."""
    written = lake.replace_partitions(rows, table, partition_keys if write_keys is None else write_keys, extra_state)
    stored = lake.read(rows.sparkSession, table)
    rewritten_rows = stored.where(F.col(PARTITION_COLUMN).isin(written.rewritten))
    return Published(
        table,
        rewritten_rows,
        {key: written.state.get(key, {"rows": 0})["rows"] for key in partition_keys},
        written.table_rows,
        written.rewritten,
        str(lake.table_path(table)),
    )


def column_schema(table: TableSpec) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                c.name,
                c.spark_type.simpleString(),
                description=c.description,
                constraints=dg.TableColumnConstraints(nullable=c.nullable),
            )
            for c in table.columns
        ]
    )


OWNERS = ["team:stedi-data-platform"]
PREVIEW_ROWS = 5
MASKED_COLUMNS = PERSONAL_COLUMNS | {"raw_text"}  # a quarantined line may hold anything


def asset_spec(table: TableSpec, group: str, deps=()) -> dg.AssetSpec:
    lineage = column_lineage(table)
    return dg.AssetSpec(
        table.name,
        group_name=group,
        description=table.description,
        deps=deps,
        owners=OWNERS,
        kinds={"spark", "parquet"},
        metadata={
            "dagster/column_schema": column_schema(table),
            **({"dagster/column_lineage": lineage} if lineage else {}),
            "zone": table.zone,
        },
        partitions_def=ingest_date_partitions,
    )


def preview(published: Published) -> dg.MetadataValue:
    """A few of the rows just written, as Markdown, with personal fields masked."""
    rows = published.rows.limit(PREVIEW_ROWS).collect()
    columns = published.rows.columns
    masked = [["***" if c in MASKED_COLUMNS and row[c] is not None else str(row[c]) for c in columns] for row in rows]
    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    return dg.MetadataValue.md("\n".join(lines + ["| " + " | ".join(values) + " |" for values in masked]))


def check_specs(table: TableSpec, *count_checks: str) -> list[dg.AssetCheckSpec]:
    key = dg.AssetKey(table.name)
    return [schema_check_spec(key), *count_check_specs(key, *count_checks)]


def all_partitions_of(*tables: TableSpec) -> list[dg.AssetDep]:
    """Dependencies on whole upstream tables: consent and de-duplication look across all ingest dates."""
    return [dg.AssetDep(t.name, partition_mapping=dg.AllPartitionMapping()) for t in tables]


def schema_result(published: Published) -> dg.AssetCheckResult:
    """Validates what this run wrote; partitions it left alone were validated when they were written."""
    return schema_check(published.rows, published.rewritten, published.table, published.asset_key)


def not_empty_result(published: Published) -> dg.AssetCheckResult:
    """A WARN: a table may rightly be empty for a while (no customer has consented yet)."""
    return count_check(
        published.asset_key,
        "not_empty",
        published.table_rows > 0,
        dg.AssetCheckSeverity.WARN,
        table_rows=published.table_rows,
    )


def materialize_result(published: Published, check_results: list[dg.AssetCheckResult]) -> dg.MaterializeResult:
    """Row counts (numeric `table_rows` is plotted over time), where the table is, and a masked preview."""
    metadata = {
        "table_rows": published.table_rows,
        "rows_by_partition": dg.MetadataValue.json(published.rows_by_partition),
        "rewritten_partitions": dg.MetadataValue.json(published.rewritten),
        "path": dg.MetadataValue.path(published.path),
    }
    if len(published.rows_by_partition) == 1:
        metadata["dagster/row_count"] = next(iter(published.rows_by_partition.values()))
    if published.rewritten:
        metadata["preview"] = preview(published)
    return dg.MaterializeResult(asset_key=published.asset_key, metadata=metadata, check_results=check_results)
