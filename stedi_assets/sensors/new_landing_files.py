"""The landing sensor: new files under the landing root flow into the lake by themselves.

The lake itself says what has been processed: each landing table keeps, per
ingest date, the fingerprint of the files it was parsed from (names, sizes,
modification times). Each tick the sensor fingerprints the landing files of
every source and date, and the dates whose fingerprint differs from the lake's
are new work. Its cursor remembers the fingerprints it already requested a run
for, so a date is handed on once per change, across restarts, while that run
is queued or running. Nothing depends on modification times moving forward, so
files copied with their original times (`cp -p`, `rsync -t`, a move from a
staging folder) are not missed.

One sensor watches all three sources, so a delivery touching all of them
starts one run, not three. A run covers every ingest date: landing re-parses
only dates whose files changed, and the trusted and curated tables recompute
only the partitions whose inputs changed (see `steps.stale`).
"""

import hashlib
import json

import dagster as dg

from stedi_assets.jobs import all_zones_job, partition_range_tags
from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.landing_files import SOURCES, LandingRoot, fingerprints_by_ingest_date
from stedi_assets.partitions import ingest_date_partitions
from stedi_assets.schemas.tables import LANDING_TABLES


def changed_landing(landing_root: LandingRoot, lake: Lake) -> dict[str, str]:
    """`source/date` -> fingerprint of the landed files, for every date the lake has not processed as is."""
    changed = {}
    for source in SOURCES:
        files = landing_root.files(source)
        processed = lake.state(LANDING_TABLES[source])
        for date, landed in fingerprints_by_ingest_date(files).items():
            if processed.get(date, {}).get("sources") != landed:
                changed[f"{source}/{date}"] = landed
    return changed


@dg.sensor(
    job=all_zones_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts one run of all zones when landing files of any source are new or changed.",
)
def landing_sensor(
    context: dg.SensorEvaluationContext, landing_root: dg.ResourceParam[LandingRoot], lake: dg.ResourceParam[Lake]
):
    requested = json.loads(context.cursor) if context.cursor else {}
    changed = changed_landing(landing_root, lake)
    new_work = {key: landed for key, landed in changed.items() if requested.get(key) != landed}
    # Only what is still unprocessed is worth remembering: the cursor stays small.
    cursor = json.dumps({key: landed for key, landed in {**requested, **new_work}.items() if key in changed})
    if not new_work:
        return dg.SensorResult(skip_reason="no new or changed landing files", cursor=cursor)
    known = context.instance.get_dynamic_partitions(ingest_date_partitions.name)
    new_dates = sorted({key.split("/")[1] for key in new_work} - set(known))
    run_key = hashlib.sha256(json.dumps(new_work, sort_keys=True).encode()).hexdigest()[:16]
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=run_key, tags=partition_range_tags([*known, *new_dates]))],
        dynamic_partitions_requests=[ingest_date_partitions.build_add_request(new_dates)] if new_dates else [],
        cursor=cursor,
    )
