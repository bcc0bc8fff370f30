"""Register the lake's tables and ingest-date partitions in the AWS Glue Data Catalog, for Athena.

Built from the same table specs as the DDL and the pandera checks, so a column, its type and its
description are written once. Registering the partitions a run wrote replaces `MSCK REPAIR TABLE`,
which lists every folder of the table on each call.
"""

from stedi_assets.schemas.ddl import table_location
from stedi_assets.schemas.tables import PARTITION_COLUMN, TableSpec

PARQUET_FORMAT = {
    "InputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetInputFormat",
    "OutputFormat": "org.apache.hadoop.hive.ql.io.parquet.MapredParquetOutputFormat",
    "SerdeInfo": {
        "SerializationLibrary": "org.apache.hadoop.hive.ql.io.parquet.serde.ParquetHiveSerDe",
        "Parameters": {"serialization.format": "1"},
    },
}
BATCH_SIZE = 100  # the most partitions BatchCreatePartition and BatchUpdatePartition take in one call


def _storage(table: TableSpec, location: str) -> dict:
    columns = [{"Name": c.name, "Type": c.spark_type.simpleString(), "Comment": c.description} for c in table.columns]
    return {"Columns": columns, "Location": location, **PARQUET_FORMAT}


def _raise_on(errors: list[dict], what: str) -> None:
    if errors:
        detail = errors[0]["ErrorDetail"]
        raise RuntimeError(
            f"Glue refused to {what} ({len(errors)} partitions): {detail['ErrorCode']}: {detail['ErrorMessage']}"
        )


def register_table_partitions(glue, database: str, lake_root: str, table: TableSpec, partition_keys: list[str]) -> None:
    """Create or update the database, the table and the given `ingest_date` partitions.

    Existing entries are overwritten with what the spec says now, so running it again changes nothing
    and a changed spec or lake root reaches the catalog. Partitions not named are left alone."""
    try:
        glue.create_database(DatabaseInput={"Name": database})
    except glue.exceptions.AlreadyExistsException:
        pass
    location = table_location(lake_root, table)
    table_input = {
        "Name": table.name,
        "Description": table.description,
        "TableType": "EXTERNAL_TABLE",  # dropping the table never deletes the lake's files
        "Parameters": {"EXTERNAL": "TRUE", "classification": "parquet"},
        "PartitionKeys": [{"Name": PARTITION_COLUMN, "Type": "string"}],
        "StorageDescriptor": _storage(table, location),
    }
    try:
        glue.create_table(DatabaseName=database, TableInput=table_input)
    except glue.exceptions.AlreadyExistsException:
        # SkipArchive: every run updates the table; archived versions would pile up towards Glue's quota.
        glue.update_table(DatabaseName=database, TableInput=table_input, SkipArchive=True)

    partitions = [
        {"Values": [key], "StorageDescriptor": _storage(table, f"{location}{PARTITION_COLUMN}={key}/")}
        for key in sorted(set(partition_keys))
    ]
    for start in range(0, len(partitions), BATCH_SIZE):
        batch = partitions[start : start + BATCH_SIZE]
        created = glue.batch_create_partition(DatabaseName=database, TableName=table.name, PartitionInputList=batch)
        errors = created.get("Errors", [])
        existing = [e["PartitionValues"] for e in errors if e["ErrorDetail"]["ErrorCode"] == "AlreadyExistsException"]
        _raise_on([e for e in errors if e["PartitionValues"] not in existing], f"create {table.name} partitions")
        entries = [{"PartitionValueList": p["Values"], "PartitionInput": p} for p in batch if p["Values"] in existing]
        if entries:
            updated = glue.batch_update_partition(DatabaseName=database, TableName=table.name, Entries=entries)
            _raise_on(updated.get("Errors", []), f"update {table.name} partitions")
