"""Landing zone assets: each source's valid records and its quarantine, from one parse of the files."""

import dagster as dg

from stedi_assets.checks.count_checks import delivery_quality, lines_accounted_for, not_empty
from stedi_assets.schemas.tables import LANDING_TABLES, QUARANTINE_TABLES, SOURCE_FIELDS
from stedi_assets.zones.asset_specs import asset_spec, check_specs, step_asset


def landing_assets(source: str, resource_keys: set[str]) -> dg.AssetsDefinition:
    landing, quarantine = LANDING_TABLES[source], QUARANTINE_TABLES[source]
    return step_asset(
        f"{source}_landing_zone",
        [asset_spec(landing, "landing"), asset_spec(quarantine, "landing")],
        [*check_specs(landing, not_empty, lines_accounted_for, delivery_quality), *check_specs(quarantine)],
        resource_keys,
    )


def landing_zone(resource_keys: set[str]) -> list[dg.AssetsDefinition]:
    return [landing_assets(source, resource_keys) for source in SOURCE_FIELDS]
