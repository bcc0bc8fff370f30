"""Trusted zone assets: only the data of customers who consent to research."""

import dagster as dg

from stedi_assets.schemas.tables import (
    ACCELEROMETER_TRUSTED,
    CUSTOMER_CURATED,
    CUSTOMER_TRUSTED,
    LANDING_TABLES,
    STEP_TRAINER_TRUSTED,
    TableSpec,
)
from stedi_assets.zones.specs import all_partitions_of, asset_spec, check_specs, step_asset


def table_asset(table: TableSpec, deps: list[dg.AssetDep], resource_keys: set[str], *count_checks: str):
    """The asset of a step that writes one table: it is named after the table, in the table's zone group."""
    spec = asset_spec(table, table.zone, deps)
    return step_asset(table.name, [spec], check_specs(table, "not_empty", *count_checks), resource_keys)


def trusted_zone(resource_keys: set[str]) -> list[dg.AssetsDefinition]:
    return [
        table_asset(
            CUSTOMER_TRUSTED, all_partitions_of(LANDING_TABLES["customer"]), resource_keys, "one_row_per_customer"
        ),
        table_asset(
            ACCELEROMETER_TRUSTED,
            all_partitions_of(LANDING_TABLES["accelerometer"], CUSTOMER_TRUSTED),
            resource_keys,
            "not_more_than_landing",
        ),
        table_asset(
            STEP_TRAINER_TRUSTED,
            all_partitions_of(LANDING_TABLES["step_trainer"], CUSTOMER_CURATED),
            resource_keys,
            "not_more_than_landing",
        ),
    ]
