"""Landing steps: each source's valid records and its quarantine, from one parse of the files.

Only ingest dates whose landed files changed (new, or a different size or
modification time), or that were parsed by another version of the landing
code (`code_versions.py`), are parsed again; the others are already in the lake.
"""

import logging
import tempfile
from collections import Counter

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from stedi_assets.checks.count_checks import delivery_quality, lines_accounted_for, not_empty
from stedi_assets.deliveries import COMMON_REASONS, DELIVERY, verdict
from stedi_assets.landing_files import fingerprint, fingerprints_by_ingest_date, local_copies
from stedi_assets.options import StediOptions
from stedi_assets.run_targets import needs_parsing, parsed_from
from stedi_assets.schemas.tables import LANDING_TABLES, PARTITION_COLUMN, QUARANTINE_TABLES, SOURCE_FIELDS
from stedi_assets.steps import StepInputs
from stedi_assets.steps.outcome import PER_PARTITION, TableOutcome
from stedi_assets.steps.publish import publish, table_outcome
from stedi_assets.transforms.landing import landing_records, parse_landing, quarantine_records
from stedi_assets.transforms.landing_parser import Limits

log = logging.getLogger(__name__)


def spark_is_local(spark) -> bool:
    """Local Spark reads landing files through `local_copies`: it has no S3 filesystem, and Hadoop misreads some
    names."""
    return spark.conf.get("spark.master", "").startswith("local")


def tally(records: DataFrame, dates: list[str]) -> dict[str, Counter]:
    """Per parsed date, its records by reason (None for the valid ones; numbers in a reason read `#`, so the same
    fault groups), from one aggregation of the parse: the count of what landed is the parser's own, so it
    cannot disagree with the parse over bytes both read."""
    counts: dict[str, Counter] = {date: Counter() for date in dates}
    if not dates:
        return counts
    reason = F.regexp_replace("reason", "[0-9]+", "#").alias("reason")
    for row in records.groupBy(PARTITION_COLUMN, reason).count().collect():
        counts[row[PARTITION_COLUMN]][row["reason"]] += row["count"]
    return counts


def judged_deliveries(
    tallied: dict[str, Counter], sources: dict[str, str], options: StediOptions, pinned: dict
) -> dict[str, dict]:
    """Per parsed date, the delivery's verdict (`deliveries`), its quarantined lines and their commonest
    reasons. A release stays while the date's files are the same (a re-parse by a new parser version)."""
    judged = {}
    for date, counts in tallied.items():
        lines = counts.total()
        reasons = [[text, count] for text, count in counts.items() if text is not None]
        bad = lines - counts[None]
        common = sorted(reasons, key=lambda pair: (-pair[1], pair[0]))[:COMMON_REASONS]
        judged[date] = {
            "quarantined": bad,
            "verdict": verdict(bad, lines, options.quarantine_warn_rate, options.quarantine_error_rate),
            "reasons": [[text[:160], count] for text, count in common],
        }
        before = pinned.get(date, {})
        if before.get(DELIVERY, {}).get("released") and before.get("sources") == sources[date]:
            judged[date]["released"] = before[DELIVERY]["released"]
    return judged


def landing_step(source: str, inputs: StepInputs) -> list[TableOutcome]:
    landing, quarantine = LANDING_TABLES[source], QUARANTINE_TABLES[source]
    spark, lake, keys, options = inputs.spark, inputs.lake, inputs.partition_keys, inputs.options
    pinned = {table: lake.pin(table) for table in (landing, quarantine)}  # before anything is read
    files = inputs.landing_root.files(source, keys)
    landed_files = fingerprints_by_ingest_date(files)
    sources = {key: landed_files.get(key, fingerprint([])) for key in keys}
    states = {table: pin.state for table, pin in pinned.items()}
    changed = [key for key in keys if needs_parsing(key, sources[key], states)]
    changed_files = [f for f in files if f.ingest_date in changed]
    with tempfile.TemporaryDirectory(prefix="stedi-landing-") as copies:
        readable = local_copies(changed_files, copies) if spark_is_local(spark) else changed_files
        limits = Limits(options.max_file_size, options.max_record_size)
        records = parse_landing(spark, readable, SOURCE_FIELDS[source], limits).persist()
        tallied = tally(records, changed)
        judged = judged_deliveries(tallied, sources, options, states[landing])
        landed = {
            table: {key: {**parsed_from(table, sources[key]), "lines_landed": tallied[key].total()} for key in changed}
            for table in (landing, quarantine)
        }
        for key in changed:
            landed[landing][key][DELIVERY] = judged[key]
        valid = publish(
            lake, landing, landing_records(records, landing), keys, changed, landed[landing], pinned=pinned[landing]
        )
        invalid = publish(
            lake,
            quarantine,
            quarantine_records(records, quarantine),
            keys,
            changed,
            landed[quarantine],
            pinned=pinned[quarantine],
        )
        records.unpersist()
    landed_state = lake.state(landing)
    all_lines = {key: landed_state[key]["lines_landed"] for key in keys}
    log.info(f"{source}: parsed {len(changed_files)} files of {changed}; {len(keys) - len(changed)} dates unchanged")
    checks = [
        not_empty(valid),
        lines_accounted_for(valid, invalid, all_lines),
        delivery_quality(source, landed_state, changed, lake.root),
    ]
    outcome = table_outcome(valid, changed, checks)
    for key in changed:  # each parsed delivery's verdict on its partition's materialization
        outcome.metadata[PER_PARTITION][key].update(
            quarantined=judged[key]["quarantined"], delivery=judged[key]["verdict"]
        )
    return [outcome, table_outcome(invalid, changed, [])]
