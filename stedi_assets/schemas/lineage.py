"""Where each column of the derived tables comes from, for Dagster's column-level lineage."""

import dagster as dg

from stedi_assets.schemas.tables import (
    ACCELEROMETER_TRUSTED,
    CUSTOMER_CURATED,
    CUSTOMER_TRUSTED,
    LANDING_TABLES,
    MACHINE_LEARNING_CURATED,
    STEP_TRAINER_TRUSTED,
    TableSpec,
)

# A derived table's columns come from the same-named columns of this upstream table...
SAME_NAME_SOURCE = {
    CUSTOMER_TRUSTED.name: LANDING_TABLES["customer"],
    ACCELEROMETER_TRUSTED.name: LANDING_TABLES["accelerometer"],
    STEP_TRAINER_TRUSTED.name: LANDING_TABLES["step_trainer"],
    CUSTOMER_CURATED.name: CUSTOMER_TRUSTED,
}
# ... except machine_learning_curated, which pairs two tables and pseudonymizes the customer.
ML_SOURCES = {
    "sensorReadingTime": [(STEP_TRAINER_TRUSTED, "sensorReadingTime")],
    "serialNumber": [(STEP_TRAINER_TRUSTED, "serialNumber")],
    "distanceFromObject": [(STEP_TRAINER_TRUSTED, "distanceFromObject")],
    "timestamp": [(ACCELEROMETER_TRUSTED, "timestamp")],
    "x": [(ACCELEROMETER_TRUSTED, "x")],
    "y": [(ACCELEROMETER_TRUSTED, "y")],
    "z": [(ACCELEROMETER_TRUSTED, "z")],
    "customer_id": [
        (STEP_TRAINER_TRUSTED, "serialNumber"),
        (CUSTOMER_CURATED, "serialNumber"),
        (CUSTOMER_CURATED, "email"),
    ],
    "accelerometer_customer_id": [(ACCELEROMETER_TRUSTED, "user")],
}


def column_lineage(table: TableSpec) -> dg.TableColumnLineage | None:
    if table.name == MACHINE_LEARNING_CURATED.name:
        sources = ML_SOURCES
    elif table.name in SAME_NAME_SOURCE:
        sources = {column: [(SAME_NAME_SOURCE[table.name], column)] for column in table.column_names}
    else:
        return None  # landing tables come from files, not assets
    return dg.TableColumnLineage(
        {
            column: [
                dg.TableColumnDep(asset_key=dg.AssetKey(upstream.name), column_name=name) for upstream, name in deps
            ]
            for column, deps in sources.items()
        }
    )
