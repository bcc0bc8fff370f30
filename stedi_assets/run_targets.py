"""Which ingest dates a run targets: those whose landing files are new, changed or gone, or were parsed by
another version of the landing code. Worked out from file listings and the landing tables' state, without
Spark, by the landing sensor and by `stedi materialize`.

The trusted and curated builds look beyond the run's dates: a partition elsewhere whose inputs changed (a
customer's consent, a reading that landed again) is recomputed too, and reported as materialized, so
Dagster's partition status stays true while a run's events stay proportional to what changed.
"""

from stedi_assets.lake.iceberg_tables import Pinned
from stedi_assets.landing_files import SOURCES, LandingRoot, files_fingerprint, fingerprints_by_ingest_date
from stedi_assets.schemas.tables import LANDING_TABLES, QUARANTINE_TABLES
from stedi_assets.zones.landing import needs_parsing


def changed_landing(landing_root: LandingRoot, pins: dict[str, Pinned]) -> dict[str, str]:
    """`source/date` -> fingerprint of the landed files, for every date to parse again: its files are new,
    changed or gone since the lake parsed them (`pins`: the landing and quarantine tables as they are now,
    `Lake.pins`), or another parser version did."""
    changed = {}
    for source in SOURCES:
        tables = (LANDING_TABLES[source], QUARANTINE_TABLES[source])
        states = {table: pins[table.name].state for table in tables}
        landed = fingerprints_by_ingest_date(landing_root.files(source))
        parsed = {date for date, entry in states[tables[0]].items() if entry.get("sources") != files_fingerprint([])}
        for date in sorted(set(landed) | parsed):
            sources = landed.get(date, files_fingerprint([]))
            if needs_parsing(date, sources, states):
                changed[f"{source}/{date}"] = sources
    return changed


def dates_of(changed: dict[str, str]) -> set[str]:
    return {key.split("/", 1)[1] for key in changed}


def run_range(registered: list[str], dates: set[str]) -> list[str]:
    """The registered dates a run over `dates` covers: a Dagster run covers one range of the registration
    order, from the first of them to the last."""
    positions = [position for position, date in enumerate(registered) if date in dates]
    return registered[min(positions) : max(positions) + 1]
