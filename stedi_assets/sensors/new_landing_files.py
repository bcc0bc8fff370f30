"""The landing sensor: new files under the landing root flow into the lake by themselves.

The lake itself says what has been processed: each landing table keeps, per
ingest date, the fingerprint of the files it was parsed from (names, sizes,
modification times). Each tick the sensor fingerprints the landing files of
every source and date, and the dates whose fingerprint differs from the lake's
are new work. Its cursor remembers the fingerprints it already requested a run
for, and that run's key, so a date is handed on once per change, across
restarts, while that run is queued or running. Nothing depends on modification
times moving forward, so files copied with their original times (`cp -p`,
`rsync -t`, a move from a staging folder) are not missed.

Each tick also records what the instance has not seen of the lake (`instance.py`): tables another
instance's run, an AWS job or a release changed show as materialized, though no run of this instance
wrote them.

A failed run is retried by Dagster's run retries (`dagster.yaml`). When the
last retry has failed too, the sensor asks again once `RETRY_FAILED_AFTER`
has passed, so the files do not wait for the next delivery (and a delivery
that always fails is not retried in a loop).

One sensor watches all three sources, so a delivery touching all of them
starts one run, not three. The run covers the dates whose files changed
(`run_targets`); the trusted and curated builds also recompute, and report,
partitions elsewhere whose inputs changed, such as a customer's consent (see
`builds.stale`).

Why a sensor and not `AutomationCondition`: automation decides from upstream
partition status, but which partitions a consent change reaches depends on
where that customer's readings lie, and landing files are not assets (see
docs/partitions.md).
"""

import hashlib
import json
import time

import dagster as dg

from stedi_assets.instance import lake_news
from stedi_assets.jobs import all_zones_job, partition_range_tags
from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.landing_files import LandingRoot
from stedi_assets.partitions import ingest_date_partitions
from stedi_assets.run_targets import changed_landing, dates_of, run_range
from stedi_assets.schemas.tables import ALL_TABLES

RETRY_FAILED_AFTER = 15 * 60  # seconds after a run and its retries failed before the sensor asks again
RUN_KEY_TAG = "dagster/run_key"  # set on the runs a sensor requests, and kept on their retries
WILL_RETRY_TAG = "dagster/will_retry"  # set by Dagster's run retries on a failed run they will retry
FINISHED = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
IN_FLIGHT = [
    dg.DagsterRunStatus.QUEUED,
    dg.DagsterRunStatus.NOT_STARTED,
    dg.DagsterRunStatus.STARTING,
    dg.DagsterRunStatus.STARTED,
    dg.DagsterRunStatus.CANCELING,
]


def failed_for_good(instance: dg.DagsterInstance, run_key: str, now: float) -> bool:
    """The run of `run_key` and its retries all failed, none is pending, and the last ended a while ago."""
    records = instance.get_run_records(dg.RunsFilter(tags={RUN_KEY_TAG: run_key}))
    if not records or any(r.dagster_run.status not in FINISHED for r in records):
        return False
    last = max(records, key=lambda r: r.create_timestamp)
    return (
        not any(r.dagster_run.status == dg.DagsterRunStatus.SUCCESS for r in records)
        and last.dagster_run.tags.get(WILL_RETRY_TAG) != "true"
        and last.end_time is not None
        and now - last.end_time >= RETRY_FAILED_AFTER
    )


def runs_in_flight(instance: dg.DagsterInstance) -> bool:
    return bool(instance.get_run_records(dg.RunsFilter(statuses=IN_FLIGHT), limit=1))


@dg.sensor(
    job=all_zones_job,
    minimum_interval_seconds=15,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts one run of all zones when landing files of any source are new or changed.",
)
def landing_sensor(
    context: dg.SensorEvaluationContext, landing_root: dg.ResourceParam[LandingRoot], lake: dg.ResourceParam[Lake]
):
    # The cursor: per `source/date`, the fingerprint a run was requested for and that run's key (a cursor of an
    # older release holds the fingerprint alone).
    cursor_entries = json.loads(context.cursor) if context.cursor else {}
    requested = {key: entry if isinstance(entry, list) else [entry, None] for key, entry in cursor_entries.items()}
    pins = lake.pins(ALL_TABLES)  # one read of each table serves the whole tick
    changed = changed_landing(landing_root, pins)
    now = time.time()
    failed = {
        key: run_key
        for key, (_, run_key) in requested.items()
        if run_key and failed_for_good(context.instance, run_key, now)
    }
    new_work = {
        key: landed for key, landed in changed.items() if key in failed or requested.get(key, [None])[0] != landed
    }
    # A new key even when the work is the same as a failed run's: Dagster skips a request whose key it has run.
    run_key = hashlib.sha256(json.dumps([new_work, sorted(set(failed.values()))], sort_keys=True).encode()).hexdigest()[
        :16
    ]
    # Only what is still unprocessed is worth remembering: the cursor stays small.
    remembered = {**requested, **{key: [landed, run_key] for key, landed in new_work.items()}}
    cursor = json.dumps({key: entry for key, entry in remembered.items() if key in changed})
    # What the instance has not seen of the lake (`instance.py`), unless a run is writing it: its own events come.
    learned_dates, learned = ([], []) if runs_in_flight(context.instance) else lake_news(context.instance, lake, pins)
    known = context.instance.get_dynamic_partitions(ingest_date_partitions.name)
    new_dates = sorted((dates_of(new_work) | set(learned_dates)) - set(known))
    partitions = [ingest_date_partitions.build_add_request(new_dates)] if new_dates else []
    if not new_work:
        return dg.SensorResult(
            skip_reason="no new or changed landing files",
            cursor=cursor,
            asset_events=learned,
            dynamic_partitions_requests=partitions,
        )
    targets = run_range([*known, *new_dates], dates_of(new_work))
    return dg.SensorResult(
        run_requests=[dg.RunRequest(run_key=run_key, tags=partition_range_tags(targets))],
        dynamic_partitions_requests=partitions,
        cursor=cursor,
        asset_events=learned,
    )
