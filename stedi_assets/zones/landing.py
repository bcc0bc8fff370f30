"""The landing zone: per source, `<source>_landing` holds every valid record as it landed, typed, with the file
and line it came from, and `<source>_quarantine` every non-blank line that is not a valid record, with the
reason. Both come from one parse of the files (`transforms/landing.py`), one build per source.

Only ingest dates whose landed files changed (new, or a different size or modification time), or that another
version of the landing code (`LANDING_PARSER`) parsed, are parsed again; the others are already in the lake.
"""

import logging
import tempfile
from collections import Counter
from dataclasses import dataclass

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from stedi_assets.builds.build import Build, BuildInputs, Table, publish, written_measures
from stedi_assets.builds.checks import check, not_empty, schema_valid
from stedi_assets.builds.outcome import Built, Published
from stedi_assets.builds.stale import reading_span
from stedi_assets.deliveries import COMMON_REASONS, DELIVERY, WARN, deliveries, release_command, verdict
from stedi_assets.lake.iceberg_tables import Counted, row_digest
from stedi_assets.landing_files import files_fingerprint, fingerprints_by_ingest_date, local_copies
from stedi_assets.schemas.tables import (
    LANDING_TABLES,
    PARTITION_COLUMN,
    QUARANTINE_TABLES,
    READING_TIME,
    SOURCE_FIELDS,
    TableSpec,
)
from stedi_assets.transforms.landing import landing_records, parse_landing, quarantine_records
from stedi_assets.transforms.landing_parser import Limits

# The code version of every landing and quarantine table: bump it with any change to what the parse writes
# (`transforms/landing_parser.py`, `transforms/landing.py`); the next run parses every ingest date again.
LANDING_PARSER = "3"


def parsed_from(sources: str) -> dict[str, str]:
    """What a landing or quarantine partition's state says it was parsed from (the landed files' fingerprint),
    and by which code."""
    return {"sources": sources, "code_version": LANDING_PARSER}


def needs_parsing(date: str, sources: str, states: dict[TableSpec, dict[str, dict]]) -> bool:
    """Whether a landing date must be parsed again: `states` (per landing and quarantine table) record other
    files, or another parser."""
    return any(
        any(state.get(date, {}).get(entry) != value for entry, value in parsed_from(sources).items())
        for state in states.values()
    )


log = logging.getLogger(__name__)


def spark_is_local(spark) -> bool:
    """Local Spark reads landing files through `local_copies`: it has no S3 filesystem, and Hadoop misreads some
    names."""
    return spark.conf.get("spark.master", "").startswith("local")


def tally(
    records: DataFrame | None, dates: list[str], landing: TableSpec, quarantine: TableSpec, span: dict | None
) -> tuple[dict[str, Counter], dict[TableSpec, Counted]]:
    """Per parsed date, its records by reason (None for the valid ones; numbers in a reason read `#`, so the same
    fault groups; `records` None: none landed), and the two tables' digests and `written_measures` on those
    dates, all from one aggregation of the parse. The count of what landed is the parser's own, so it cannot
    disagree with the parse over bytes both read; and neither table's write makes a pass of its own. The rows of
    one reason belong to one table: the valid ones to `landing`, the others to `quarantine`, whose digests and
    measures (its value rules' breaks: counts) add up over its reasons."""
    counts: dict[str, Counter] = {date: Counter() for date in dates}
    counted: dict[TableSpec, Counted] = {landing: ({}, {}), quarantine: ({}, {})}
    if not dates or records is None:
        return counts, counted
    valid = F.col("reason").isNull()
    digest = F.when(valid, row_digest(landing.column_names)).otherwise(row_digest(quarantine.column_names))
    measures = {landing: written_measures(landing, span), quarantine: written_measures(quarantine)}
    aliases = {(table, name): f"_{table.name}_{name}" for table, named in measures.items() for name in named}
    reason = F.regexp_replace("reason", "[0-9]+", "#").alias("reason")
    aggregates = [
        F.count(F.lit(1)).alias("count"),
        F.sum(digest).alias("digest"),
        *(measure.alias(aliases[table, name]) for table, named in measures.items() for name, measure in named.items()),
    ]
    for row in records.groupBy(PARTITION_COLUMN, reason).agg(*aggregates).collect():
        date, table = row[PARTITION_COLUMN], landing if row["reason"] is None else quarantine
        counts[date][row["reason"]] += row["count"]
        digests, measured = counted[table]
        entry = digests.setdefault(date, {"rows": 0, "digest": 0})
        entry["rows"] += row["count"]
        entry["digest"] += int(row["digest"])
        values = {name: row[aliases[table, name]] for name in measures[table]}
        earlier = measured.get(date)  # the quarantine's, of another reason
        measured[date] = {name: earlier[name] + value for name, value in values.items()} if earlier else values
    for digests, _ in counted.values():
        for entry in digests.values():
            entry["digest"] = str(entry["digest"])  # as `partition_digests` gives it
    return counts, counted


def judged_deliveries(tallied: dict[str, Counter], sources: dict[str, str], pinned: dict) -> dict[str, dict]:
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
            "verdict": verdict(bad, lines),
            "reasons": [[text[:160], count] for text, count in common],
        }
        before = pinned.get(date, {})
        if before.get(DELIVERY, {}).get("released") and before.get("sources") == sources[date]:
            judged[date]["released"] = before[DELIVERY]["released"]
    return judged


@dataclass(frozen=True)
class LandingBuilt(Built):
    """A landing table as its build left it, with its quarantine: both count what landed."""

    quarantine: Published | None = None
    lake_root: str = ""


@check(
    "lines_accounted_for",
    "Per ingest date, valid + quarantined = records landed (non-blank lines, or the elements of a file that "
    "is one JSON array), as the parse counted them in its one read of the files. The tables' rows are those "
    "their data files hold, as Iceberg's manifests count them. A failure means a record was lost or invented "
    "on its way to the tables: a bug, not bad data.",
)
def lines_accounted_for(built: LandingBuilt):
    valid, invalid = built.published, built.quarantine
    lines_landed = {key: valid.state[key]["lines_landed"] for key in valid.rows_by_partition}
    unaccounted = {
        key: lines_landed[key] - valid.rows_by_partition[key] - invalid.rows_by_partition[key]
        for key in valid.rows_by_partition
    }
    return not any(unaccounted.values()), {"lines_landed": lines_landed, "unaccounted_lines": unaccounted}


@check(
    "delivery_quality",
    "Each delivery (this source's files of one ingest date) judged by its quarantined lines, with 95% "
    "confidence (a few bad lines in a small delivery are not a broken one). ERROR while any delivery is held: "
    "it is broken (its bad share is above the error rate), so its valid rows stay out of the trusted and "
    "curated tables, while every other delivery flows. The metadata names each held delivery, its commonest "
    "reasons and the command that releases it. WARN when a delivery this run parsed has a bad share above the "
    "warn rate. Look at the quarantine's reasons for that date, then replay fixed lines in a new file of that "
    "date, or release the delivery (`stedi release`, or the release_delivery job).",
    severity=None,  # ERROR while a delivery is held, else WARN
    blocking=False,  # a held delivery holds back its own rows only: the other deliveries flow on
)
def delivery_quality(built: LandingBuilt):
    source = built.published.table.name.removesuffix("_landing")
    return delivery_verdicts(source, built.published.state, built.recomputed, built.lake_root)


def delivery_verdicts(source: str, landing_state: dict[str, dict], parsed: list[str], lake_root: str):
    """Held deliveries are judged over every date (a hold lasts across runs), warnings over the dates parsed:
    (passed, metadata, severity)."""
    judged = {delivery.date: delivery for delivery in deliveries(source, landing_state)}
    held = [delivery for delivery in judged.values() if delivery.held]
    warned = [judged[date] for date in parsed if judged[date].verdict == WARN]
    metadata = {
        "held": {delivery.date: delivery.summary() for delivery in held},
        "release_with": [release_command(lake_root, delivery) for delivery in held],
        "warned": {delivery.date: delivery.summary() for delivery in warned},
        "released": {d.date: d.released for d in judged.values() if d.released},
    }
    return not held and not warned, metadata, "ERROR" if held else "WARN"


def landing_build(source: str) -> Build:
    landing, quarantine = LANDING_TABLES[source], QUARANTINE_TABLES[source]
    tables = (
        Table(
            landing, (schema_valid, not_empty, lines_accounted_for, delivery_quality), LANDING_PARSER, group="landing"
        ),
        Table(quarantine, (schema_valid,), LANDING_PARSER, group="landing"),
    )
    return Build(f"{source}_landing_zone", tables, lambda inputs: parse_deliveries(source, inputs))


def parse_deliveries(source: str, inputs: BuildInputs) -> list[Built]:
    landing, quarantine = LANDING_TABLES[source], QUARANTINE_TABLES[source]
    spark, lake, keys, options = inputs.spark, inputs.lake, inputs.partition_keys, inputs.options
    pinned = {table: lake.pin(table) for table in (landing, quarantine)}  # before anything is read
    files = inputs.landing_root.files(source, keys)
    landed_files = fingerprints_by_ingest_date(files)
    sources = {key: landed_files.get(key, files_fingerprint([])) for key in keys}
    states = {table: pin.state for table, pin in pinned.items()}
    changed = [key for key in keys if needs_parsing(key, sources[key], states)]
    changed_files = [f for f in files if f.ingest_date in changed]
    to_parse = [f for f in changed_files if f.size]  # a file without bytes holds no record: no Spark job for it
    with tempfile.TemporaryDirectory(prefix="stedi-landing-") as copies:
        records = None  # no record landed on the changed dates
        if to_parse:
            readable = local_copies(to_parse, copies) if spark_is_local(spark) else to_parse
            limits = Limits(options.max_file_size, options.max_record_size)
            records = parse_landing(spark, readable, SOURCE_FIELDS[source], limits).persist()
        # A readings table keeps each partition's span of reading times, for the trusted build's de-duplication.
        span = reading_span(READING_TIME[source]) if source in READING_TIME else None
        tallied, counted = tally(records, changed, landing, quarantine, span)
        judged = judged_deliveries(tallied, sources, states[landing])
        landed = {
            table: {key: {**parsed_from(sources[key]), "lines_landed": tallied[key].total()} for key in changed}
            for table in (landing, quarantine)
        }
        for key in changed:
            landed[landing][key][DELIVERY] = judged[key]
        # The tally says which of the two tables gets rows on the changed dates: one that gets none is written
        # without a Spark job (most deliveries have no bad line).
        parsed = records is not None
        valid_rows = landing_records(records, landing) if parsed and any(tallied[k][None] for k in changed) else None
        valid = publish(inputs, landing, valid_rows, changed, landed[landing], span, pinned[landing], counted[landing])
        invalid_rows = (
            quarantine_records(records, quarantine) if any(judged[k]["quarantined"] for k in changed) else None
        )
        invalid = publish(
            inputs, quarantine, invalid_rows, changed, landed[quarantine], None, pinned[quarantine], counted[quarantine]
        )
        if parsed:
            records.unpersist()
    log.info(f"{source}: parsed {len(to_parse)} files of {changed}; {len(keys) - len(changed)} dates unchanged")
    verdicts = {key: {"quarantined": judged[key]["quarantined"], "delivery": judged[key]["verdict"]} for key in changed}
    return [
        LandingBuilt(valid, changed, options, per_partition=verdicts, quarantine=invalid, lake_root=lake.root),
        Built(invalid, changed, options),
    ]


BUILDS = [landing_build(source) for source in SOURCE_FIELDS]
