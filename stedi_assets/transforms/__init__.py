"""Plain PySpark transforms, one module per zone: the same functions run locally and in a Glue or EMR job."""

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql import types as T


def empty_frame(spark: SparkSession, schema: T.StructType) -> DataFrame:
    """No rows, planned in the JVM: `createDataFrame([])` would start Spark's Python workers (about a
    second) to turn an empty Python list into rows. Every column is nullable, as in any Parquet read."""
    return spark.range(0).select(*(F.lit(None).cast(field.dataType).alias(field.name) for field in schema))
