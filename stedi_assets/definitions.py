"""The code location: assembles the zones' assets, their checks, resources and jobs."""

import os
import warnings

import dagster as dg

from stedi_assets.assets import STEPS_RESOURCE, zone_assets
from stedi_assets.expected_counts import expected_count_check
from stedi_assets.jobs import (
    all_zones_job,
    maintain_lake,
    nightly_all_zones,
    nightly_maintenance,
    release_held_delivery,
    zone_jobs,
)
from stedi_assets.resources import resources_from_environment
from stedi_assets.schemas.tables import ZONE_TABLES
from stedi_assets.sensors.new_landing_files import landing_sensor
from stedi_assets.sensors.released_deliveries import released_delivery_sensor


def build_definitions(resources: dict, expected_counts_profile: str | None = None) -> dg.Definitions:
    """The same graph for `dagster dev` and `stedi materialize`; only the resources differ.

    In-process execution keeps every step of a run in one process, so a run starts one JVM.
    The `zone_steps` resource says where the steps run, and which other resources they need.
    """
    if expected_counts_profile and "pyspark" not in resources:
        raise ValueError("STEDI_EXPECTED_COUNTS needs the local deployment: its check counts rows with local Spark")
    step_resources = resources[STEPS_RESOURCE].required_resource_keys
    assets = zone_assets(step_resources)
    checks = [expected_count_check(table, expected_counts_profile) for table in ZONE_TABLES]
    local_spark = "pyspark" in resources  # maintenance runs on local Spark; on AWS, see docs (Athena VACUUM)
    with warnings.catch_warnings():  # a beta feature, used on purpose: its warning asks nothing of a user
        warnings.simplefilter("ignore", dg.BetaWarning)
        assets = dg.with_source_code_references(assets)
    return dg.Definitions(
        assets=assets,
        asset_checks=checks if expected_counts_profile else [],
        jobs=[all_zones_job, *zone_jobs, release_held_delivery, *([maintain_lake] if local_spark else [])],
        schedules=[nightly_all_zones, *([nightly_maintenance] if local_spark else [])],
        sensors=[landing_sensor, released_delivery_sensor],
        resources=resources,
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """What `dagster dev` loads, configured by STEDI_* variables. Built when loaded, not on import: the CLI
    imports `build_definitions` with its own values, whatever the shell's variables say."""
    return build_definitions(resources_from_environment(), os.environ.get("STEDI_EXPECTED_COUNTS") or None)
