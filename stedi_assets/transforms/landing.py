"""Landing zone: landed files -> typed records and quarantine rows, in one pass over the bytes."""

from urllib.parse import unquote

import pyarrow as pa
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.pandas.types import to_arrow_schema

from stedi_assets.landing_files import LandingFile, ingest_date_of
from stedi_assets.schemas.tables import LINEAGE_COLUMNS, PARTITION_COLUMN, ColumnSpec, TableSpec
from stedi_assets.transforms import empty_frame
from stedi_assets.transforms.landing_parser import parse_file

# Spark's JSON reader accepts NaN and single quotes unless told not to; the parser never does.
_STRICT_JSON = {"allowNonNumericNumbers": "false", "allowSingleQuotes": "false"}


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


def _parse_batches(fields: tuple[ColumnSpec, ...], schema: T.StructType, names: dict[str, str]):
    """mapInArrow function: binaryFile rows (whole files) in, one parsed row per record out. `names`: each
    file's name as landed, by its path."""
    arrow_schema = to_arrow_schema(schema)

    def parse(batches):
        for batch in batches:
            for path, modified, content in zip(
                batch.column("path").to_pylist(),
                batch.column("modificationTime").to_pylist(),
                batch.column("content").to_pylist(),
            ):
                ingest_date = ingest_date_of(path, modified.timestamp())
                name = names.get(local_path(path)) or names.get(path) or path.rsplit("/", 1)[-1]
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
    """One row per landed record (a non-blank line or an array element), valid or not (see `parsed_lines_schema`)."""
    schema = parsed_lines_schema(fields)
    if not files:
        return empty_frame(spark, schema)
    raw_files = (
        spark.read.format("binaryFile").option("recursiveFileLookup", "true").load([file.path for file in files])
    )
    return raw_files.mapInArrow(_parse_batches(fields, schema, {file.path: file.name for file in files}), schema)


def landing_records(parsed_lines: DataFrame, table: TableSpec) -> DataFrame:
    return parsed_lines.where(F.col("reason").isNull()).select(*table.column_names, PARTITION_COLUMN)


def quarantine_records(parsed_lines: DataFrame, table: TableSpec) -> DataFrame:
    return parsed_lines.where(F.col("reason").isNotNull()).select(*table.column_names, PARTITION_COLUMN)


def records_landed(spark: SparkSession, files: list[LandingFile]) -> dict[str, int]:
    """Records landed per ingest date, counted by Spark's own readers (independent of the parser).

    The parser's units: a file that is one JSON array lands one record per element, any other file one
    per non-blank line, and a file Spark cannot read (a corrupt gzip) one, the quarantine row saying so.
    """
    if not files:
        return {}
    text = F.regexp_replace("value", "^\ufeff", "")  # a UTF-8 byte-order mark is not data, as in the parser
    # from_json stops after the first value; inside brackets, anything after the array is a parse error.
    whole_file = F.from_json(F.concat(F.lit("["), text, F.lit("]")), "array<array<string>>", _STRICT_JSON)
    is_array = text.rlike(r"^[ \t\n\r]*\[") & (F.size(whole_file) == 1)
    nonblank_lines = F.filter(F.split(text, r"\r\n|\r|\n"), lambda line: line.rlike(r"\S"))
    per_file = (
        spark.read.option("recursiveFileLookup", "true")
        .option("ignoreCorruptFiles", "true")
        .text([file.path for file in files], wholetext=True)
        .select(
            F.col("_metadata.file_path").alias("uri"),
            F.when(is_array, F.size(whole_file[0])).otherwise(F.size(nonblank_lines)).alias("records"),
        )
        .collect()
    )
    records = {local_path(row["uri"]): row["records"] for row in per_file}
    totals: dict[str, int] = {}
    for file in files:
        unreadable = 1 if file.size else 0  # Spark skips a corrupt file (and an empty gzip, which has no lines)
        totals[file.ingest_date] = totals.get(file.ingest_date, 0) + records.get(file.path, unreadable)
    return totals


def local_path(uri: str) -> str:
    """Spark reports files as percent-encoded URIs (`file:` ones for local files); the listing knows
    them as plain paths and `s3://` URLs as the keys are written."""
    return unquote(uri.removeprefix("file://").removeprefix("file:") if uri.startswith("file:") else uri)
