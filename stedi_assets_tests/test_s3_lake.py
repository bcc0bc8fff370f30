"""A lake on S3 with the Glue Data Catalog, offline: moto's server, reached through `AWS_ENDPOINT_URL` alone.

`stedi materialize --landing s3://… --lake s3://…` runs local Spark, which writes the Iceberg data and
metadata to S3 and commits each table to Glue; the tables are then read back with pyiceberg through
Glue, independently of the Spark code that wrote them.
"""

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from stedi_assets.schemas.tables import ALL_TABLES
from stedi_assets_tests.conftest import CONTRACT_COUNTS
from stedi_assets_tests.lake_contents import current_snapshots, kept_versions, table_rows
from stedi_assets_tests.test_materialize import printed_counts

pytest_plugins = ["stedi_assets_tests.aws"]
pytestmark = pytest.mark.slow
# The Glue database of this test's tables: the moto server is the whole session's, and the AWS stand-in tests
# write the default database `stedi`.
NAMESPACE = "stedi_s3_lake"


def stedi(cwd: Path, *arguments: str) -> subprocess.CompletedProcess:
    """A fresh process, so its JVM sees the environment that points every AWS client at moto; from `cwd`, where
    its Dagster instance goes (`data/dagster`, the default for a lake on S3)."""
    env = {name: value for name, value in os.environ.items() if name != "DAGSTER_HOME"}
    command = [sys.executable, "-m", "stedi_assets.cli", *arguments]
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr[-3000:]
    return result


def materialize(cwd: Path, landing: str, lake: str) -> subprocess.CompletedProcess:
    return stedi(
        cwd, "materialize", "--landing", landing, "--lake", lake, "--namespace", NAMESPACE, "--expect", "stedi-starter"
    )


def test_starter_data_from_s3_into_iceberg_tables_on_s3_in_the_glue_catalog(
    moto_env, moto_client, starter_data, tmp_path
):
    s3, glue = moto_client("s3"), moto_client("glue")
    landing_bucket, lake_bucket = f"landing-{uuid.uuid4().hex[:8]}", f"lake-{uuid.uuid4().hex[:8]}"
    for bucket in (landing_bucket, lake_bucket):
        s3.create_bucket(Bucket=bucket)
    for file in sorted(path for path in starter_data.rglob("*") if path.is_file()):
        s3.upload_file(str(file), landing_bucket, f"raw/{file.relative_to(starter_data).as_posix()}")
    landing, lake = f"s3://{landing_bucket}/raw", f"s3://{lake_bucket}/lake"

    result = materialize(tmp_path, landing, lake)
    assert (tmp_path / "data" / "dagster").is_dir()  # the instance, under the current folder
    assert printed_counts(result.stdout) == CONTRACT_COUNTS["default"]

    registered = {table["Name"]: table for table in glue.get_tables(DatabaseName=NAMESPACE)["TableList"]}
    assert set(registered) == {table.name for table in ALL_TABLES}
    for table in ALL_TABLES:
        parameters = registered[table.name]["Parameters"]
        assert parameters["table_type"] == "ICEBERG"
        assert parameters["metadata_location"].startswith(f"{lake}/{table.zone}/{table.name}/metadata/")
    for name, rows in CONTRACT_COUNTS["default"].items():
        assert len(table_rows(lake, name, NAMESPACE)) == rows, name
    data_files = s3.list_objects_v2(Bucket=lake_bucket, Prefix="lake/trusted/customer_trusted/data/")
    assert [entry["Key"] for entry in data_files["Contents"] if entry["Key"].endswith(".parquet")]

    committed = current_snapshots(lake, NAMESPACE)
    tagged = kept_versions(lake, "training_set", NAMESPACE)
    assert list(tagged) == ["v1"] and len(tagged["v1"]) == CONTRACT_COUNTS["default"]["training_set"]

    # Maintenance lists and deletes through S3FileIO: a file no snapshot references goes, the tables stay.
    orphan = "lake/trusted/customer_trusted/data/ingest_date=2023-08-06/left-by-a-killed-run.parquet"
    s3.put_object(Bucket=lake_bucket, Key=orphan, Body=b"PAR1")
    stedi(tmp_path, "maintain", "--lake", lake, "--namespace", NAMESPACE, "--retain-days", "0")
    assert s3.list_objects_v2(Bucket=lake_bucket, Prefix=orphan)["KeyCount"] == 0
    assert current_snapshots(lake, NAMESPACE) == committed
    assert kept_versions(lake, "training_set", NAMESPACE) == tagged  # no customer withdrew: kept as it is
    for name, rows in CONTRACT_COUNTS["default"].items():
        assert len(table_rows(lake, name, NAMESPACE)) == rows, name
