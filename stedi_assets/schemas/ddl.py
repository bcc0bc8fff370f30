"""Athena / Hive DDL for the lake's tables, generated from the same specs as the pandera checks.

The exercise keeps hand-written `CREATE EXTERNAL TABLE` statements in a `sql_code`
folder; generating them from `tables.py` means a column, its type and its
description are never written twice and cannot drift from the stored Parquet.
The statements are plain HiveQL, valid for Athena and for Spark SQL with Hive support.
"""

from stedi_assets.schemas.tables import PARTITION_COLUMN, QUARANTINE_TABLES, ZONE_TABLES, TableSpec

ALL_TABLES = (*ZONE_TABLES, *QUARANTINE_TABLES.values())


def _ident(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def _literal(text: str) -> str:
    """A single-quoted string literal. Backslash escapes, not doubled quotes: Hive has no `''`
    escape, and Spark reads `'a''b'` as two adjacent literals, silently dropping the quote."""
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def create_table_ddl(table: TableSpec, location: str, database: str = "stedi") -> str:
    """`CREATE EXTERNAL TABLE` over the table's Parquet folder, partitioned by ingest date.

    External, so dropping the table never deletes the lake's files."""
    columns = ",\n".join(
        f"  {_ident(c.name)} {c.spark_type.simpleString()} COMMENT {_literal(c.description)}" for c in table.columns
    )
    return (
        f"CREATE EXTERNAL TABLE IF NOT EXISTS {_ident(database)}.{_ident(table.name)} (\n{columns}\n)\n"
        f"COMMENT {_literal(table.description)}\n"
        f"PARTITIONED BY ({_ident(PARTITION_COLUMN)} string)\n"
        f"STORED AS PARQUET\n"
        f"LOCATION {_literal(location)}"
    )


def table_location(lake_root: str, table: TableSpec) -> str:
    """Where a catalogue finds the table: `LocalLake.table_path`, `<lake_root>/<zone>/<table>/`.
    The trailing slash keeps Athena from matching a sibling folder with the same prefix."""
    return f"{lake_root.rstrip('/')}/{table.zone}/{table.name}/"


def all_tables_ddl(lake_root: str, database: str = "stedi") -> str:
    """The whole catalogue: the database, then each table followed by `MSCK REPAIR TABLE`,
    which registers the `ingest_date=…` folders already in the lake as partitions."""
    statements = [f"CREATE DATABASE IF NOT EXISTS {_ident(database)}"]
    for table in ALL_TABLES:
        statements.append(create_table_ddl(table, table_location(lake_root, table), database))
        statements.append(f"MSCK REPAIR TABLE {_ident(database)}.{_ident(table.name)}")
    return ";\n\n".join(statements)
