"""The lake: Parquet tables partitioned by ingest date, readable by any engine.

Layout: `<root>/<zone>/<table>/ingest_date=YYYY-MM-DD/*.parquet`. A write
replaces whole partitions: the new files are staged in a hidden folder, then
each partition folder is swapped in by rename, so a re-run never duplicates
rows and readers never see a half-written partition.
"""

import shutil
import uuid
from pathlib import Path

import dagster as dg
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from stedi_assets.schemas.tables import PARTITION_COLUMN, TableSpec


class LocalLake(dg.ConfigurableResource):
    """A lake in a local folder."""

    root: str

    def table_path(self, table: TableSpec) -> Path:
        return Path(self.root) / table.zone / table.name

    def partition_path(self, table: TableSpec, partition_key: str) -> Path:
        return self.table_path(table) / f"{PARTITION_COLUMN}={partition_key}"

    def read(self, spark: SparkSession, table: TableSpec) -> DataFrame:
        """The whole table (all partitions); empty with the right schema before the first write."""
        path = self.table_path(table)
        if not path.is_dir():
            return spark.createDataFrame([], table.spark_schema)
        return spark.read.schema(table.spark_schema).parquet(str(path))

    def replace_partitions(self, rows: DataFrame, table: TableSpec, partition_keys: list[str]) -> None:
        """Make the given partitions hold exactly `rows` of those partitions (none: empty)."""
        table_path = self.table_path(table)
        staging = table_path / f"_staging-{uuid.uuid4().hex}"
        (
            rows.where(F.col(PARTITION_COLUMN).isin(partition_keys))
            .repartition(PARTITION_COLUMN)
            .write.partitionBy(PARTITION_COLUMN)
            .parquet(str(staging / "new"))
        )
        (staging / "old").mkdir()
        for key in partition_keys:
            target = self.partition_path(table, key)
            staged = staging / "new" / target.name
            if target.exists():
                target.rename(staging / "old" / target.name)
            if staged.exists():
                staged.rename(target)
        shutil.rmtree(staging)
