"""Landing sensors: new files under the landing root flow into the lake by themselves.

Each source's sensor keeps its place in `context.cursor`: the (modification
time, path) of the last file it handed on. Files are taken in that order, at
most `MAX_FILES_PER_TICK` per tick, so each file is processed once, across
restarts, and a huge listing is spread over several ticks. A file that lands
late in an old `ingest_date=` folder still has a new modification time, so it
is picked up.

A run covers every ingest date: landing re-parses only dates whose files
changed, and the trusted and curated tables are recomputed whole (a consent
change can touch any date) but rewrite only the partitions whose content
changed. Consent granted, withdrawn or a stale update therefore reach every
trusted and curated partition in the same run.
"""

import json

import dagster as dg

from stedi_assets.jobs import all_zones_job, partition_range_tags
from stedi_assets.landing_files import SOURCES
from stedi_assets.partitions import ingest_date_partitions
from stedi_assets.resources.settings import LandingRoot

MAX_FILES_PER_TICK = 1000


def landing_sensor(source: str) -> dg.SensorDefinition:
    @dg.sensor(
        name=f"{source}_landing_sensor",
        job=all_zones_job,
        minimum_interval_seconds=15,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=f"Starts a run of all zones when new {source} files land.",
    )
    def _landing_sensor(context: dg.SensorEvaluationContext, landing_root: LandingRoot):
        position = tuple(json.loads(context.cursor)) if context.cursor else (0, "")
        files = sorted(landing_root.files(source), key=lambda f: (f.modified_ns, f.path))
        new_files = [f for f in files if (f.modified_ns, f.path) > position][:MAX_FILES_PER_TICK]
        if not new_files:
            return dg.SkipReason(f"no new {source} files")
        known = context.instance.get_dynamic_partitions(ingest_date_partitions.name)
        new_dates = sorted({f.ingest_date for f in new_files} - set(known))
        last = new_files[-1]
        return dg.SensorResult(
            run_requests=[
                dg.RunRequest(
                    run_key=f"{source}:{last.modified_ns}:{last.path}",
                    tags=partition_range_tags([*known, *new_dates]),
                )
            ],
            dynamic_partitions_requests=[ingest_date_partitions.build_add_request(new_dates)] if new_dates else [],
            cursor=json.dumps([last.modified_ns, last.path]),
        )

    return _landing_sensor


landing_sensors = [landing_sensor(source) for source in SOURCES]
