"""Trusted zone assets: only the data of customers who consent to research."""

import dagster as dg

from stedi_assets.checks.count_checks import one_row_per_customer, readings_distinct
from stedi_assets.schemas.tables import (
    ACCELEROMETER_TRUSTED,
    CUSTOMER_CURATED,
    CUSTOMER_TRUSTED,
    LANDING_TABLES,
    STEP_TRAINER_TRUSTED,
)
from stedi_assets.zones.asset_specs import all_partitions_of, table_asset


def trusted_zone(resource_keys: set[str]) -> list[dg.AssetsDefinition]:
    return [
        table_asset(
            CUSTOMER_TRUSTED, all_partitions_of(LANDING_TABLES["customer"]), resource_keys, one_row_per_customer
        ),
        table_asset(
            ACCELEROMETER_TRUSTED,
            all_partitions_of(LANDING_TABLES["accelerometer"], CUSTOMER_TRUSTED),
            resource_keys,
            readings_distinct,
        ),
        table_asset(
            STEP_TRAINER_TRUSTED,
            all_partitions_of(LANDING_TABLES["step_trainer"], CUSTOMER_CURATED),
            resource_keys,
            readings_distinct,
        ),
    ]
