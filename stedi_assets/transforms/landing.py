"""Landing zone: landed files -> typed records and quarantine rows, in one pass over the bytes."""

import re
from urllib.parse import unquote

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from stedi_assets.landing_files import LandingFile, ingest_date_of
from stedi_assets.schemas.tables import LINEAGE_COLUMNS, PARTITION_COLUMN, ColumnSpec, TableSpec, empty_frame
from stedi_assets.transforms.landing_parser import Limits, file_over_limit, parse_file


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


def _parse_batches(fields: tuple[ColumnSpec, ...], schema: T.StructType, names: dict[str, str], limits: Limits):
    """mapInArrow function: binaryFile rows (whole files) in, one parsed row per record out. `names`: each
    file's name as landed, by its path."""
    arrow_schema = to_arrow_schema(schema)
    nulls = (None,) * len(fields)

    def parse(batches):
        for batch in batches:
            for path, modified, content in zip(
                batch.column("path").to_pylist(),
                batch.column("modificationTime").to_pylist(),
                batch.column("content").to_pylist(),
            ):
                ingest_date = ingest_date_of(path, modified.timestamp())
                name = names.get(local_path(path)) or names.get(path) or path.rsplit("/", 1)[-1]
                rows = [
                    (ingest_date, name, line.line_number, *(line.values or nulls), line.raw_text, line.reason)
                    for line in parse_file(content, fields, name.endswith(".gz"), limits)
                ]
                columns = zip(*rows) if rows else [()] * len(arrow_schema)  # rows to columns, in C
                yield pa.RecordBatch.from_arrays(
                    [pa.array(column, type=field.type) for column, field in zip(columns, arrow_schema)],
                    schema=arrow_schema,
                )

    return parse


# Hadoop reads a path given to a reader as a glob pattern; a backslash makes each of these characters literal.
_GLOB_CHARACTERS = re.compile(r"([\\\[\]{}*?])")


def literal_path(path: str) -> str:
    """The path as a pattern that matches only itself (Glue and EMR read `s3://` names as they are listed)."""
    return _GLOB_CHARACTERS.sub(r"\\\1", path)


def parse_landing(
    spark: SparkSession, files: list[LandingFile], fields: tuple[ColumnSpec, ...], limits: Limits
) -> DataFrame:
    """One row per landed record (a non-blank line or an array element), valid or not (see `parsed_lines_schema`).

    A file larger than `limits.file_bytes` is not read at all: the listing's size is enough to quarantine it."""
    schema = parsed_lines_schema(fields)
    readable = [file for file in files if file.size <= limits.file_bytes]
    too_large = [file for file in files if file.size > limits.file_bytes]
    if readable:
        paths = [literal_path(file.path) for file in readable]
        raw_files = spark.read.format("binaryFile").option("recursiveFileLookup", "true").load(paths)
        names = {file.path: file.name for file in readable}
        parsed = raw_files.mapInArrow(_parse_batches(fields, schema, names, limits), schema)
    else:
        parsed = empty_frame(spark, schema)
    if too_large:
        reason = file_over_limit(limits.file_bytes)
        rows = [(file.ingest_date, file.name, 1, *(None,) * len(fields), "", reason) for file in too_large]
        parsed = parsed.unionByName(spark.createDataFrame(rows, schema))
    return parsed


def landing_records(parsed_lines: DataFrame, table: TableSpec) -> DataFrame:
    return parsed_lines.where(F.col("reason").isNull()).select(*table.column_names, PARTITION_COLUMN)


def quarantine_records(parsed_lines: DataFrame, table: TableSpec) -> DataFrame:
    return parsed_lines.where(F.col("reason").isNotNull()).select(*table.column_names, PARTITION_COLUMN)


def local_path(uri: str) -> str:
    """Spark reports files as percent-encoded URIs (`file:` ones for local files); the listing knows
    them as plain paths and `s3://` URLs as the keys are written."""
    return unquote(uri.removeprefix("file://").removeprefix("file:") if uri.startswith("file:") else uri)
