"""The code location: assembles the zones' assets, their checks, resources and jobs."""

import os

import dagster as dg

from stedi_assets.checks.expected_counts import expected_count_check
from stedi_assets.jobs import all_zones_job, nightly_all_zones, zone_jobs
from stedi_assets.resources import resources_from_environment
from stedi_assets.schemas.tables import ZONE_TABLES
from stedi_assets.sensors.landing import landing_sensor
from stedi_assets.zones.curated import customer_curated, machine_learning_curated
from stedi_assets.zones.landing import accelerometer_landing, customer_landing, step_trainer_landing
from stedi_assets.zones.trusted import accelerometer_trusted, customer_trusted, step_trainer_trusted

ZONE_ASSETS = [
    customer_landing,
    accelerometer_landing,
    step_trainer_landing,
    customer_trusted,
    accelerometer_trusted,
    step_trainer_trusted,
    customer_curated,
    machine_learning_curated,
]


def build_definitions(resources: dict, expected_counts_profile: str | None = None) -> dg.Definitions:
    """The same graph for `dagster dev` and `stedi materialize`; only the resources differ.

    In-process execution keeps every step of a run in one process, so a run starts one JVM.
    """
    checks = [expected_count_check(table, expected_counts_profile) for table in ZONE_TABLES]
    return dg.Definitions(
        assets=dg.with_source_code_references(ZONE_ASSETS),
        asset_checks=checks if expected_counts_profile else [],
        jobs=[all_zones_job, *zone_jobs],
        schedules=[nightly_all_zones],
        sensors=[landing_sensor],
        resources=resources,
        executor=dg.in_process_executor,
    )


defs = build_definitions(resources_from_environment(), os.environ.get("STEDI_EXPECTED_COUNTS") or None)
