"""Landing zone: landed files -> typed records and quarantine rows, in one pass over the bytes."""

from urllib.parse import unquote

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from stedi_assets.landing_files import LandingFile, ingest_date_of
from stedi_assets.schemas.tables import LINEAGE_COLUMNS, PARTITION_COLUMN, ColumnSpec, TableSpec
from stedi_assets.transforms.landing_parser import parse_file


def parsed_lines_schema(fields: tuple[ColumnSpec, ...]) -> T.StructType:
    """Valid and quarantined lines side by side: `reason` is null exactly for valid ones."""
    return T.StructType(
        [
            T.StructField(PARTITION_COLUMN, T.StringType(), False),
            *(T.StructField(c.name, c.spark_type, c.nullable) for c in LINEAGE_COLUMNS),
            *(T.StructField(f.name, f.spark_type, True) for f in fields),
            T.StructField("raw_text", T.StringType(), True),
            T.StructField("reason", T.StringType(), True),
        ]
    )


def _parse_batches(fields: tuple[ColumnSpec, ...], schema: T.StructType):
    """mapInArrow function: binaryFile rows (whole files) in, one parsed row per non-blank line out."""
    arrow_schema = to_arrow_schema(schema)

    def parse(batches):
        for batch in batches:
            for path, modified, content in zip(
                batch.column("path").to_pylist(),
                batch.column("modificationTime").to_pylist(),
                batch.column("content").to_pylist(),
            ):
                ingest_date = ingest_date_of(path, modified.timestamp())
                name = path.rsplit("/", 1)[-1]
                columns = [[] for _ in arrow_schema]
                for line in parse_file(content, fields, gzipped=name.endswith(".gz")):
                    values = line.values or (None,) * len(fields)
                    row = (ingest_date, name, line.line_number, *values, line.raw_text, line.reason)
                    for column, value in zip(columns, row):
                        column.append(value)
                yield pa.RecordBatch.from_arrays(
                    [pa.array(column, type=field.type) for column, field in zip(columns, arrow_schema)],
                    schema=arrow_schema,
                )

    return parse


def parse_landing(spark: SparkSession, files: list[LandingFile], fields: tuple[ColumnSpec, ...]) -> DataFrame:
    """One row per non-blank landed line, valid or not (see `parsed_lines_schema`)."""
    schema = parsed_lines_schema(fields)
    if not files:
        return spark.createDataFrame([], schema)
    raw_files = (
        spark.read.format("binaryFile").option("recursiveFileLookup", "true").load([file.path for file in files])
    )
    return raw_files.mapInArrow(_parse_batches(fields, schema), schema)


def landing_records(parsed_lines: DataFrame, table: TableSpec) -> DataFrame:
    return parsed_lines.where(F.col("reason").isNull()).select(*table.column_names, PARTITION_COLUMN)


def quarantine_records(parsed_lines: DataFrame, table: TableSpec) -> DataFrame:
    return parsed_lines.where(F.col("reason").isNotNull()).select(*table.column_names, PARTITION_COLUMN)


def nonblank_lines_landed(spark: SparkSession, files: list[LandingFile]) -> dict[str, int]:
    """Non-blank lines per ingest date, counted by Spark's own text reader (independent of the parser)."""
    if not files:
        return {}
    per_file = (
        spark.read.option("recursiveFileLookup", "true")
        .text([file.path for file in files])
        .where(F.length(F.regexp_replace("value", r"\s", "")) > 0)
        .groupBy(F.col("_metadata.file_path").alias("uri"))
        .count()
        .collect()
    )
    ingest_date_by_path = {file.path: file.ingest_date for file in files}
    totals: dict[str, int] = {}
    for row in per_file:
        ingest_date = ingest_date_by_path[local_path(row["uri"])]
        totals[ingest_date] = totals.get(ingest_date, 0) + row["count"]
    return totals


def local_path(uri: str) -> str:
    """Spark reports local files as `file:` URIs; the listing knows them as plain paths."""
    return unquote(uri.removeprefix("file://").removeprefix("file:")) if uri.startswith("file:") else uri
