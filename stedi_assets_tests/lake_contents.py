"""The lake as the tests see it: read with pyiceberg, independently of the Spark code that wrote it."""

from collections import Counter
from pathlib import Path

from pyiceberg.exceptions import NoSuchNamespaceError, NoSuchTableError

from stedi_assets.lake.catalog import DEFAULT_NAMESPACE, LakeCatalog
from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.schemas.tables import ALL_TABLES, LANDING_TABLES
from stedi_assets_tests.reference import CONTRACT_FIELDS, ML_FIELDS

# The contract's fields of each zone table, in the order the reference implementation gives its rows.
TABLE_FIELDS = {
    "customer_landing": CONTRACT_FIELDS["customer"],
    "accelerometer_landing": CONTRACT_FIELDS["accelerometer"],
    "step_trainer_landing": CONTRACT_FIELDS["step_trainer"],
    "customer_trusted": CONTRACT_FIELDS["customer"],
    "accelerometer_trusted": CONTRACT_FIELDS["accelerometer"],
    "step_trainer_trusted": CONTRACT_FIELDS["step_trainer"],
    "customer_curated": CONTRACT_FIELDS["customer"],
    "machine_learning_curated": ML_FIELDS,
    "training_set": [*ML_FIELDS, "split"],
}


def table_rows(lake: Path | str, name: str, namespace: str = DEFAULT_NAMESPACE) -> list[dict]:
    """Every row of the table's current snapshot; none before the table (or the lake) exists."""
    catalog = LakeCatalog(str(lake), namespace)
    if not catalog.exists():
        return []  # and pyiceberg would make the catalog's file
    try:
        table = catalog.pyiceberg().load_table((namespace, name))
    except (NoSuchTableError, NoSuchNamespaceError):
        return []
    return table.scan().to_arrow().to_pylist()


def kept_versions(lake: Path | str, name: str, namespace: str = DEFAULT_NAMESPACE) -> dict[str, list[dict]]:
    """Every tag and branch but main of the table, with its rows."""
    table = LakeCatalog(str(lake), namespace).pyiceberg().load_table((namespace, name))
    return {
        ref: table.scan(snapshot_id=target.snapshot_id).to_arrow().to_pylist()
        for ref, target in table.metadata.refs.items()
        if ref != "main"
    }


def current_snapshots(lake: Path | str, namespace: str = DEFAULT_NAMESPACE) -> dict[str, int | None]:
    """Each table's current snapshot id: a run that commits nothing leaves them all as they were."""
    stored = Lake(str(lake), namespace)
    return {table.name: stored.pin(table).snapshot_id for table in ALL_TABLES}


def table_states(lake: Path | str) -> dict[str, dict]:
    """Each table's partition state (rows, content digest, and the landed files of each landing date)."""
    stored = Lake(str(lake))
    return {table.name: stored.state(table) for table in ALL_TABLES}


def landed_dates(lake: Path | str, source: str) -> set[str]:
    return {row["ingest_date"] for row in table_rows(lake, LANDING_TABLES[source].name)}


def lake_table(lake: Path | str, table: str, namespace: str = DEFAULT_NAMESPACE) -> Counter:
    """A zone table's rows as the reference implementation gives them: its contract fields, no lineage."""
    rows = table_rows(lake, table, namespace)
    return Counter(tuple(row[field] for field in TABLE_FIELDS[table]) for row in rows)
