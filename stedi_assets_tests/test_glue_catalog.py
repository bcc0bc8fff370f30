"""Glue Data Catalog registration against moto's server: tables from the specs, partitions, idempotence."""

import uuid
from datetime import date, timedelta

import pytest

from stedi_assets.catalog.glue import register_table_partitions
from stedi_assets.schemas.ddl import ALL_TABLES, create_table_ddl, table_location
from stedi_assets.schemas.tables import QUARANTINE_TABLES, ZONE_TABLES

pytest_plugins = ["stedi_assets_tests.aws"]

LAKE = "s3://stedi-lake/lake"
PARQUET_SERDE = "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe"


@pytest.fixture
def glue(moto_client):
    return moto_client("glue")


@pytest.fixture
def database():
    """Each test its own database: the moto server lives for the whole session."""
    return f"stedi_{uuid.uuid4().hex[:8]}"


def catalog(glue, database: str) -> dict:
    """What Athena reads of each table and its partitions, without timestamps and version ids."""
    tables = [t for page in glue.get_paginator("get_tables").paginate(DatabaseName=database) for t in page["TableList"]]
    result = {}
    for table in tables:
        pages = glue.get_paginator("get_partitions").paginate(DatabaseName=database, TableName=table["Name"])
        partitions = {p["Values"][0]: p["StorageDescriptor"] for page in pages for p in page["Partitions"]}
        described = ("Description", "TableType", "Parameters", "PartitionKeys", "StorageDescriptor")
        result[table["Name"]] = ({key: table.get(key) for key in described}, partitions)
    return result


def test_every_table_is_registered_from_its_spec_with_its_partitions(glue, database):
    for table in ALL_TABLES:
        register_table_partitions(glue, database, LAKE, table, ["2024-01-02", "2024-01-01"])

    registered = catalog(glue, database)
    assert len(ZONE_TABLES) == 8 and len(QUARANTINE_TABLES) == 3
    assert set(registered) == {table.name for table in ALL_TABLES}
    for table in ALL_TABLES:
        described, partitions = registered[table.name]
        storage = described["StorageDescriptor"]
        assert described["TableType"] == "EXTERNAL_TABLE" and described["Description"] == table.description
        assert described["PartitionKeys"] == [{"Name": "ingest_date", "Type": "string"}]
        assert storage["Location"] == table_location(LAKE, table) == f"{LAKE}/{table.zone}/{table.name}/"
        assert storage["SerdeInfo"]["SerializationLibrary"] == PARQUET_SERDE
        assert storage["InputFormat"].endswith("MapredParquetInputFormat")
        assert storage["OutputFormat"].endswith("MapredParquetOutputFormat")
        assert [(c["Name"], c["Type"], c["Comment"]) for c in storage["Columns"]] == [
            (c.name, c.spark_type.simpleString(), c.description) for c in table.columns
        ]
        ddl = create_table_ddl(table, storage["Location"])  # the DDL agrees, column by column
        assert all(f"`{c['Name']}` {c['Type']} COMMENT" in ddl for c in storage["Columns"])
        assert {key: p["Location"] for key, p in partitions.items()} == {
            key: f"{storage['Location']}ingest_date={key}/" for key in ("2024-01-01", "2024-01-02")
        }
        assert all(p["Columns"] == storage["Columns"] for p in partitions.values())
    assert {c["Type"] for t in registered.values() for c in t[0]["StorageDescriptor"]["Columns"]} == {
        "string",
        "bigint",
        "double",
    }


def test_registering_again_changes_nothing_and_adds_only_new_partitions(glue, database):
    # 150 dates: more than one batch of 100, for creating and for updating.
    keys = [(date(2024, 1, 1) + timedelta(days=n)).isoformat() for n in range(150)]
    for table in ALL_TABLES:
        register_table_partitions(glue, database, LAKE, table, keys)
    first = catalog(glue, database)
    assert all(len(partitions) == 150 for _, partitions in first.values())

    for table in ALL_TABLES:
        register_table_partitions(glue, database, LAKE, table, keys)
    assert catalog(glue, database) == first

    table = ZONE_TABLES[0]
    register_table_partitions(glue, database, LAKE, table, [keys[0], "2024-06-01"])
    described, partitions = catalog(glue, database)[table.name]
    assert (described, {k: v for k, v in partitions.items() if k != "2024-06-01"}) == first[table.name]
    assert partitions["2024-06-01"]["Location"] == f"{LAKE}/{table.zone}/{table.name}/ingest_date=2024-06-01/"


def test_a_moved_lake_updates_the_table_and_the_existing_partitions(glue, database):
    table = QUARANTINE_TABLES["customer"]
    register_table_partitions(glue, database, LAKE, table, ["2024-01-01"])
    register_table_partitions(glue, database, "s3://other-bucket/lake/", table, ["2024-01-01"])
    described, partitions = catalog(glue, database)[table.name]
    assert described["StorageDescriptor"]["Location"] == "s3://other-bucket/lake/quarantine/customer_quarantine/"
    assert (
        partitions["2024-01-01"]["Location"]
        == "s3://other-bucket/lake/quarantine/customer_quarantine/ingest_date=2024-01-01/"
    )
