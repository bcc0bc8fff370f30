"""The generated Athena DDL: its text, and that Spark SQL with Hive support reads the lake through it."""

import json
import subprocess
import sys

from stedi_assets.cli import main
from stedi_assets.lake import LocalLake
from stedi_assets.schemas.ddl import ALL_TABLES, ZONE_TABLES, all_tables_ddl, create_table_ddl
from stedi_assets.schemas.tables import DOUBLE, STRING, ColumnSpec, TableSpec
from stedi_assets_tests.conftest import CONTRACT_COUNTS


def test_ddl_text_has_types_comments_partitions_and_escapes_quotes():
    table = TableSpec(
        "t",
        "trusted",
        "A table's description.",
        (
            ColumnSpec("x", DOUBLE, "Acceleration along x."),
            ColumnSpec("who", STRING, "The customer's \\ key."),
        ),
    )
    ddl = create_table_ddl(table, "s3://bucket/lake/trusted/t/")
    assert ddl.startswith("CREATE EXTERNAL TABLE IF NOT EXISTS `stedi`.`t` (\n")
    assert "  `x` double COMMENT 'Acceleration along x.',\n" in ddl
    assert "COMMENT 'The customer\\'s \\\\ key.'" in ddl
    assert "COMMENT 'A table\\'s description.'\n" in ddl
    assert "PARTITIONED BY (`ingest_date` string)\nSTORED AS PARQUET\n" in ddl
    assert ddl.endswith("LOCATION 's3://bucket/lake/trusted/t/'")


def test_all_tables_ddl_covers_every_table_at_the_lake_layout():
    statements = all_tables_ddl("s3://bucket/lake/").split(";\n\n")
    assert statements[0] == "CREATE DATABASE IF NOT EXISTS `stedi`"
    assert len(ZONE_TABLES) == 8 and len(ALL_TABLES) == 11 and len(statements) == 1 + 2 * 11
    lake = LocalLake(root="lake")
    for table, create, repair in zip(ALL_TABLES, statements[1::2], statements[2::2]):
        assert f"`stedi`.`{table.name}` (" in create
        assert create.endswith(f"LOCATION 's3://bucket/{lake.table_path(table).as_posix()}/'")
        assert repair == f"MSCK REPAIR TABLE `stedi`.`{table.name}`"


# Run in a child process: the suite's one SparkSession has no Hive support, and Hive
# support cannot be turned on in an existing session.
HIVE_SCRIPT = """
import json, sys
from pyspark.sql import SparkSession
from stedi_assets.schemas.ddl import ALL_TABLES, all_tables_ddl

lake, tmp = sys.argv[1], sys.argv[2]
spark = (
    SparkSession.builder.master("local[2]").appName("stedi-ddl-test")
    .config("spark.driver.memory", "1g")
    .config("spark.ui.enabled", "false")
    .config("spark.sql.shuffle.partitions", "2")
    .config("spark.sql.warehouse.dir", f"{tmp}/warehouse")
    .config("spark.hadoop.javax.jdo.option.ConnectionURL",
            f"jdbc:derby:;databaseName={tmp}/metastore_db;create=true")
    .config("spark.driver.extraJavaOptions", f"-Dderby.system.home={tmp}")
    .enableHiveSupport()
    .getOrCreate()
)
spark.sparkContext.setLogLevel("WARN")
for statement in all_tables_ddl(lake).split(";\\n\\n"):
    spark.sql(statement)
result = {
    t.name: {
        "count": spark.sql(f"SELECT count(*) FROM stedi.{t.name}").first()[0],
        "partitions": [r[0] for r in spark.sql(f"SHOW PARTITIONS stedi.{t.name}").collect()],
    }
    for t in ALL_TABLES
}
# Typed, case-preserved columns and escaped comments, not just row counts.
result["consenting"] = spark.sql(
    "SELECT count(shareWithResearchAsOfDate) FROM stedi.customer_trusted").first()[0]
result["comment"] = spark.sql("DESCRIBE stedi.customer_landing").where("col_name = 'customerName'").first()["comment"]
print("RESULT " + json.dumps(result))
spark.stop()
"""


def test_generated_ddl_reads_the_contract_counts_in_spark_with_hive(starter_data, tmp_path):
    lake, hive = tmp_path / "lake", tmp_path / "hive"
    hive.mkdir()
    assert main(["materialize", "--landing", str(starter_data), "--lake", str(lake)]) == 0

    script = tmp_path / "run_ddl.py"
    script.write_text(HIVE_SCRIPT)
    done = subprocess.run(
        [sys.executable, str(script), str(lake), str(hive)],
        cwd=hive,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    result = json.loads(next(line[7:] for line in done.stdout.splitlines() if line.startswith("RESULT ")))

    assert {name: result[name]["count"] for name in CONTRACT_COUNTS["default"]} == CONTRACT_COUNTS["default"]
    for table in ZONE_TABLES:
        assert "ingest_date=2023-08-06" in result[table.name]["partitions"], table.name
    assert result["consenting"] == CONTRACT_COUNTS["default"]["customer_trusted"]
    assert result["comment"] == "Customer's full name (personal)."
    assert (hive / "metastore_db").is_dir()  # the metastore stays under tmp_path
