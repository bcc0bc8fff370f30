"""Curated zone assets: the tables data scientists train on."""

import dagster as dg

from stedi_assets.checks.count_checks import cross_customer_pairs, no_personal_columns, one_row_per_customer
from stedi_assets.schemas.tables import (
    ACCELEROMETER_TRUSTED,
    CUSTOMER_CURATED,
    CUSTOMER_TRUSTED,
    MACHINE_LEARNING_CURATED,
    STEP_TRAINER_TRUSTED,
)
from stedi_assets.zones.asset_specs import all_partitions_of, table_asset


def curated_zone(resource_keys: set[str]) -> list[dg.AssetsDefinition]:
    return [
        table_asset(
            CUSTOMER_CURATED,
            [dg.AssetDep(CUSTOMER_TRUSTED.name), *all_partitions_of(ACCELEROMETER_TRUSTED)],
            resource_keys,
            one_row_per_customer,
        ),
        table_asset(
            MACHINE_LEARNING_CURATED,
            [dg.AssetDep(STEP_TRAINER_TRUSTED.name), *all_partitions_of(ACCELEROMETER_TRUSTED, CUSTOMER_CURATED)],
            resource_keys,
            no_personal_columns,
            cross_customer_pairs,
        ),
    ]
