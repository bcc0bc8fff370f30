"""SQL over the lake's current tables, in an in-memory DuckDB.

pyiceberg reads each table's current snapshot (from the lake's own catalog: SQLite or Glue) into Arrow, and
DuckDB sees it as a view of the table's name. DuckDB's iceberg extension is not used: it is downloaded at run
time, and installing extensions is turned off here, so a query never fetches anything. Only the tables whose
names the SQL mentions are scanned. The SQL can reach nothing but those tables: DuckDB's external access is off
and its configuration locked before it runs.
"""

import os
import re
from typing import NamedTuple

from stedi_assets.lake.catalog import DEFAULT_NAMESPACE, SQLITE_FILE, LakeCatalog
from stedi_assets.schemas.tables import ALL_TABLES


class LakeQueryError(Exception):
    """A query that cannot run: no lake, no namespace, or SQL that DuckDB rejects. The message is one line."""


class QueryResult(NamedTuple):
    columns: list[str]
    rows: list[tuple]  # the first `max_rows` rows, or all of them
    total: int  # how many rows the query returned in all


def mentioned_tables(sql: str, names: list[str]) -> list[str]:
    """The table names that appear in `sql` as whole words, in any case (DuckDB's names are case-insensitive)."""
    return [name for name in names if re.search(rf"(?<![\w$]){re.escape(name)}(?![\w$])", sql, re.IGNORECASE)]


def _one_line(error: Exception) -> str:
    """DuckDB's message up to its first blank line (before the SQL quoted with a caret), on one line."""
    head = str(error).strip().split("\n\n", 1)[0]
    return " ".join(line.strip() for line in head.splitlines() if line.strip())


def query_lake(
    lake_root: str, sql: str, namespace: str = DEFAULT_NAMESPACE, max_rows: int | None = None
) -> QueryResult:
    """Run `sql` over the tables of `namespace` in the lake at `lake_root` (a folder or s3://bucket/prefix).

    Each table is a DuckDB view named after it (`customer_landing`, `machine_learning_curated`, ...); all are
    listed (`SHOW TABLES`), and only those the SQL names are loaded and read.
    Statements run in a throwaway in-memory database: nothing is written to the lake.
    """
    import duckdb
    from pyiceberg.exceptions import NoSuchNamespaceError
    from pyspark.sql.pandas.types import to_arrow_schema

    lake = LakeCatalog(lake_root, namespace)
    if not lake.on_s3 and os.path.isfile(lake.root):
        raise LakeQueryError(f"{lake.root} is a file, not a lake: give the lake's folder (or s3://bucket/prefix)")
    if not lake.exists():
        raise LakeQueryError(f"no lake at {lake.root}: it has no catalog ({SQLITE_FILE}) yet; run `stedi materialize`")
    catalog = lake.pyiceberg()
    try:
        names = sorted(identifier[-1] for identifier in catalog.list_tables(namespace))
    except NoSuchNamespaceError:
        raise LakeQueryError(f"the lake at {lake.root} has no namespace {namespace!r}") from None
    if unbuilt := mentioned_tables(sql, sorted({t.name for t in ALL_TABLES} - set(names))):
        raise LakeQueryError(f"{', '.join(unbuilt)}: not built yet in the lake at {lake.root}; run `stedi materialize`")

    con = duckdb.connect(":memory:", config={"autoinstall_known_extensions": False, "autoload_known_extensions": False})
    try:
        mentioned = mentioned_tables(sql, names)
        for name in mentioned:
            catalog.load_table((namespace, name)).scan().to_duckdb(name, connection=con)
        for table in ALL_TABLES:  # the others are listed too (SHOW TABLES), with their columns and no rows
            if table.name in names and table.name not in mentioned:
                con.register(table.name, to_arrow_schema(table.spark_schema).empty_table())
        # The SQL sees the tables above and nothing else: no file read or written, no database attached from a
        # file, no extension installed or loaded, and no setting that could turn any of that back on.
        con.execute("SET enable_external_access = false")
        con.execute("SET lock_configuration = true")
        try:
            relation = con.sql(sql)
            if relation is None:  # the last statement returns no rows (e.g. CREATE TABLE ...)
                return QueryResult([], [], 0)
            result = relation.to_arrow_table()
        except duckdb.PermissionException as error:
            raise LakeQueryError(f"{_one_line(error)}: stedi query reads the lake's tables only") from None
        except duckdb.CatalogException as error:  # DuckDB would suggest its own system tables: name the lake's
            message = re.sub(r"\s*Did you mean .*$", "", _one_line(error))
            raise LakeQueryError(f"{message} The lake's tables: {', '.join(names)}") from None
        except duckdb.Error as error:
            raise LakeQueryError(_one_line(error)) from None
    finally:
        con.close()
    shown = result if max_rows is None else result.slice(0, max_rows)
    rows = list(zip(*(column.to_pylist() for column in shown.columns))) if shown.num_columns else []
    return QueryResult(list(result.column_names), rows, result.num_rows)
