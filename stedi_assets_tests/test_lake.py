"""Replacing partitions of a lake table, read back through Spark and from the folders."""

from pyspark.sql import functions as F

from stedi_assets.lake import LocalLake
from stedi_assets.schemas.tables import LANDING_TABLES, PARTITION_COLUMN

TABLE = LANDING_TABLES["step_trainer"]


def test_a_partition_left_with_no_rows_has_no_files(spark, tmp_path):
    lake = LocalLake(str(tmp_path))
    rows = [(1, "s", 2, "f.json", 1, "2024-01-01"), (3, "s", 4, "f.json", 2, "2024-01-02")]
    lake.replace_partitions(spark.createDataFrame(rows, TABLE.spark_schema), TABLE, ["2024-01-01", "2024-01-02"])

    no_rows = spark.createDataFrame([], TABLE.spark_schema)
    written = lake.replace_partitions(no_rows, TABLE, ["2024-01-02", "2024-01-03"])

    assert written.rewritten == ["2024-01-02", "2024-01-03"]  # one emptied, one new and empty
    assert {key: entry["rows"] for key, entry in lake.state(TABLE).items()} == {
        "2024-01-01": 1,
        "2024-01-02": 0,
        "2024-01-03": 0,
    }
    folders = sorted(p.name for p in lake.table_path(TABLE).iterdir() if not p.name.startswith(("_", ".")))
    assert folders == [f"{PARTITION_COLUMN}=2024-01-01"]
    assert [tuple(row) for row in lake.read(spark, TABLE).collect()] == [rows[0]]


def test_a_new_partition_written_in_one_pass_is_described_as_by_the_digest_pass(spark, tmp_path):
    """A partition the table never had is written and measured in one pass (`_add_partition`). Its state must
    be what the digest pass gives a rewrite of the same rows, or the next run would see a change where there
    is none and rewrite it."""
    rows = [(1, "s", None, "f.json", 1, "2024-01-01"), (3, "t", 2, "f.json", 2, "2024-01-01")]
    measures = {"first": F.min("sensorReadingTime"), "breaks": F.count_if(F.col("distanceFromObject").isNull())}
    frame, no_rows = spark.createDataFrame(rows, TABLE.spark_schema), spark.createDataFrame([], TABLE.spark_schema)

    one_pass = LocalLake(str(tmp_path / "one_pass"))
    added = one_pass.replace_partitions(frame, TABLE, ["2024-01-01"], {"2024-01-01": {"note": "x"}}, measures)
    one_pass.replace_partitions(no_rows, TABLE, ["2024-01-02"], measures=measures)

    digest_pass = LocalLake(str(tmp_path / "digest_pass"))
    digest_pass.replace_partitions(no_rows, TABLE, ["2024-01-01"])  # known, so rewritten after a digest pass
    rewritten = digest_pass.replace_partitions(frame, TABLE, ["2024-01-01"], {"2024-01-01": {"note": "x"}}, measures)
    digest_pass.replace_partitions(no_rows, TABLE, ["2024-01-01", "2024-01-02"], measures=measures)

    assert added.state["2024-01-01"]["rows"] == 2
    assert added.measures == rewritten.measures == {"2024-01-01": {"first": 1, "breaks": 1}}
    assert added.state == rewritten.state
    assert one_pass.state(TABLE)["2024-01-02"] == digest_pass.state(TABLE)["2024-01-02"]
    assert sorted(map(tuple, one_pass.read(spark, TABLE).collect()), key=str) == sorted(map(tuple, rows), key=str)
