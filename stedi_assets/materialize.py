"""One Dagster run of every zone, over the ingest dates that changed, as `stedi materialize` starts it."""

import os

import dagster as dg

from stedi_assets.definitions import build_definitions
from stedi_assets.jobs import partition_range_tags
from stedi_assets.partitions import ingest_date_partitions
from stedi_assets.resources import local_resources
from stedi_assets.run_targets import changed_landing, dates_of, run_range
from stedi_assets.schemas.tables import ZONE_TABLES


def instance_for_cli() -> dg.DagsterInstance:
    """The instance at $DAGSTER_HOME, so runs show in `dagster dev`; else a throwaway one."""
    return dg.DagsterInstance.get() if os.environ.get("DAGSTER_HOME") else dg.DagsterInstance.ephemeral()


def run_all_zones(args, ingest_dates: list[str], landing_bytes: int) -> tuple[bool, dict[str, int], list[str]]:
    """One run of every zone over the ingest dates whose landing files changed (`run_targets`; the latest
    date when none did, so the other steps still catch up with a new code version): (success, rows of each
    zone table, failed ERROR checks)."""
    resources = local_resources(
        args.landing,
        args.lake,
        args.ml_join,
        args.consent_cutoff,
        args.pseudonym_key,
        args.namespace,
        args.spark_master,
        landing_bytes,
    )
    defs = build_definitions(resources, args.expect)
    changed = dates_of(changed_landing(resources["landing_root"], resources["lake"]))
    with instance_for_cli() as instance:
        known = set(instance.get_dynamic_partitions(ingest_date_partitions.name))
        # A date whose files are gone is registered too: its partitions are emptied.
        instance.add_dynamic_partitions(ingest_date_partitions.name, sorted((set(ingest_dates) | changed) - known))
        ordered = instance.get_dynamic_partitions(ingest_date_partitions.name)
        result = defs.resolve_job_def("all_zones").execute_in_process(
            instance=instance,
            tags=partition_range_tags(run_range(ordered, changed or {ordered[-1]})),
            run_config={"loggers": {"console": {"config": {"log_level": "WARNING"}}}},
            raise_on_error=False,
        )
    materialized = {
        event.asset_key.path[-1]: event.step_materialization_data.materialization.metadata["table_rows"].value
        for event in result.get_asset_materialization_events()
    }
    table_rows = {table.name: materialized.get(table.name, 0) for table in ZONE_TABLES}
    failed = [
        f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
        for evaluation in result.get_asset_check_evaluations()
        if not evaluation.passed and evaluation.severity == dg.AssetCheckSeverity.ERROR
    ]
    return result.success, table_rows, failed
