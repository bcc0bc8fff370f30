"""After a person releases a held delivery in Dagster, one run takes its valid rows downstream."""

import dagster as dg

from stedi_assets.jobs import all_zones_job, partition_range_tags, release_held_delivery
from stedi_assets.partitions import ingest_date_partitions


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    monitored_jobs=[release_held_delivery],
    request_job=all_zones_job,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts a run of all zones over the ingest date of a delivery just released, so its valid rows "
    "reach the trusted and curated tables without waiting for the next landing files.",
)
def released_delivery_sensor(context: dg.RunStatusSensorContext):
    date = context.dagster_run.run_config["ops"]["release_delivery"]["config"]["date"]
    # The lake's delivery may be older than this instance: register its date, as the landing sensor would.
    if date not in context.instance.get_dynamic_partitions(ingest_date_partitions.name):
        context.instance.add_dynamic_partitions(ingest_date_partitions.name, [date])
    return dg.RunRequest(run_key=context.dagster_run.run_id, tags=partition_range_tags([date]))
