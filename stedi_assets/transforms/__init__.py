"""Plain PySpark transforms, one module per zone: the same functions run locally and in a Glue or EMR job."""

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T


def empty_frame(spark: SparkSession, schema: T.StructType) -> DataFrame:
    """No rows, as a read of no files: `createDataFrame([])` would start Spark's Python workers (about a
    second) to turn an empty Python list into rows. Like any Parquet read, every column is nullable."""
    return spark.read.schema(schema).parquet()
