"""Landing steps: each source's valid records and its quarantine, from one parse of the files.

Only ingest dates whose landed files changed (new, or a different size or
modification time), or that were parsed by another version of the landing
code (`code_versions.py`), are parsed again; the others are already in the lake.
"""

import logging
import tempfile

from stedi_assets.checks.count_checks import lines_accounted_for, not_empty, quarantine_rate
from stedi_assets.landing_files import fingerprint, fingerprints_by_ingest_date, local_copies
from stedi_assets.run_targets import needs_parsing, parsed_from
from stedi_assets.schemas.tables import LANDING_TABLES, QUARANTINE_TABLES, SOURCE_FIELDS
from stedi_assets.steps import StepInputs
from stedi_assets.steps.outcome import TableOutcome
from stedi_assets.steps.publish import publish, table_outcome
from stedi_assets.transforms.landing import (
    landing_records,
    parse_landing,
    quarantine_records,
    records_landed,
)

log = logging.getLogger(__name__)


def spark_is_local(spark) -> bool:
    """Local Spark reads landing files from S3 through local copies (`local_copies`): it has no S3 filesystem."""
    return spark.conf.get("spark.master", "").startswith("local")


def landing_step(source: str, inputs: StepInputs) -> list[TableOutcome]:
    landing, quarantine = LANDING_TABLES[source], QUARANTINE_TABLES[source]
    spark, lake, keys = inputs.spark, inputs.lake, inputs.partition_keys
    pinned = {table: lake.pin(table) for table in (landing, quarantine)}  # before anything is read
    files = inputs.landing_root.files(source, keys)
    landed_files = fingerprints_by_ingest_date(files)
    sources = {key: landed_files.get(key, fingerprint([])) for key in keys}
    states = {table: pin.state for table, pin in pinned.items()}
    changed = [key for key in keys if needs_parsing(key, sources[key], states)]
    changed_files = [f for f in files if f.ingest_date in changed]
    with tempfile.TemporaryDirectory(prefix="stedi-landing-") as copies:
        readable = local_copies(changed_files, copies) if spark_is_local(spark) else changed_files
        lines_landed = records_landed(spark, readable)
        landed = {
            table: {
                key: {**parsed_from(table, sources[key]), "lines_landed": lines_landed.get(key, 0)} for key in changed
            }
            for table in (landing, quarantine)
        }
        records = parse_landing(spark, readable, SOURCE_FIELDS[source]).persist()
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
    quarantined = quarantine_rate(
        invalid.rows_by_partition,
        {key: all_lines[key] for key in changed},
        inputs.options.quarantine_warn_rate,
        inputs.options.quarantine_error_rate,
    )
    return [
        table_outcome(valid, changed, [not_empty(valid), lines_accounted_for(valid, invalid, all_lines), quarantined]),
        table_outcome(invalid, changed, []),
    ]
