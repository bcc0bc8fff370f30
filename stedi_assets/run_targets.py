"""Which ingest dates a run targets: those whose landing files are new, changed or gone, or were parsed by
another version of the landing code. Worked out from file listings and the landing tables' state, without
Spark, by the landing sensor and by `stedi materialize`.

The trusted and curated steps look beyond the run's dates: a partition elsewhere whose inputs changed (a
customer's consent, a reading that landed again) is recomputed too, and reported as materialized, so
Dagster's partition status stays true while a run's events stay proportional to what changed.
"""

from stedi_assets.code_versions import CODE_VERSIONS
from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.landing_files import SOURCES, LandingRoot, fingerprint, fingerprints_by_ingest_date
from stedi_assets.schemas.tables import LANDING_TABLES, QUARANTINE_TABLES, TableSpec


def parsed_from(table: TableSpec, sources: str) -> dict[str, str]:
    """What a landing or quarantine partition's state says it was parsed from (the landed files' fingerprint),
    and by which code."""
    return {"sources": sources, "code_version": CODE_VERSIONS[table.name]}


def needs_parsing(date: str, sources: str, states: dict[TableSpec, dict[str, dict]]) -> bool:
    """Whether a landing date must be parsed again: `states` (per landing and quarantine table) record other
    files, or another parser."""
    return any(
        any(state.get(date, {}).get(entry) != value for entry, value in parsed_from(table, sources).items())
        for table, state in states.items()
    )


def changed_landing(landing_root: LandingRoot, lake: Lake) -> dict[str, str]:
    """`source/date` -> fingerprint of the landed files, for every date to parse again: its files are new,
    changed or gone since the lake parsed them, or another parser version did."""
    changed = {}
    for source in SOURCES:
        tables = (LANDING_TABLES[source], QUARANTINE_TABLES[source])
        states = {table: lake.state(table) for table in tables}
        landed = fingerprints_by_ingest_date(landing_root.files(source))
        parsed = {date for date, entry in states[tables[0]].items() if entry.get("sources") != fingerprint([])}
        for date in sorted(set(landed) | parsed):
            sources = landed.get(date, fingerprint([]))
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
