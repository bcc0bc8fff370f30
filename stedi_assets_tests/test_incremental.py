"""Invariants 2 and 3 of the contract, on random landing sequences (hypothesis).

Landing ingest dates one at a time (in random order, with consent granted,
withdrawn and stale updates among the records, under the default and under
the contract's options) and materializing after each must leave, after each date, the
tables the independent reference implementation computes from the files
landed so far, with customers whose current state does not consent gone from
every trusted and curated table; and at the end the lake equals, partition for
partition, one rebuild from all the files.
"""

import json
from collections import Counter
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from stedi_assets.cli import main
from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.schemas.tables import LANDING_TABLES, READING_TIME
from stedi_assets_tests.lake_contents import TABLE_FIELDS, lake_table, table_rows
from stedi_assets_tests.reference import customer_key, reference_tables

pytestmark = pytest.mark.slow

EMAILS = ["ann@x.com", "bob@x.com", "cid@x.com"]
DATES = ["2024-01-01", "2024-01-02", "2024-01-03"]
TABLES = {
    "landing": ["customer_landing", "accelerometer_landing", "step_trainer_landing"],
    "trusted": ["customer_trusted", "accelerometer_trusted", "step_trainer_trusted"],
    "curated": ["customer_curated", "machine_learning_curated", "training_set"],
}

customer_records = st.builds(
    lambda email, updated, consent: {
        "customerName": email.split("@")[0],
        "email": email,
        "serialNumber": f"S-{email}",
        "lastUpdateDate": updated,
        "shareWithResearchAsOfDate": consent,
    },
    st.sampled_from(EMAILS),
    st.integers(1, 5),
    st.one_of(st.none(), st.integers(1, 20)),
)
# Readings of both sources at overlapping times on every date: a step reading can pair with an
# accelerometer reading that lands on another date, before or after it.
readings = st.lists(st.tuples(st.sampled_from(EMAILS), st.integers(10, 14)), max_size=4)
ingest_date_contents = st.fixed_dictionaries(
    {"customers": st.lists(customer_records, max_size=3), "accelerometer": readings, "step_trainer": readings}
)
scenarios = st.tuples(st.lists(ingest_date_contents, min_size=len(DATES), max_size=len(DATES)), st.permutations(DATES))


def write_date(landing: Path, date: str, contents: dict) -> None:
    def write(source: str, lines: list[dict]) -> None:
        folder = landing / source / "landing" / f"ingest_date={date}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{source}.json").write_text("".join(json.dumps(line) + "\n" for line in lines))

    write("customer", contents["customers"])
    write(
        "accelerometer",
        [{"user": e, "timestamp": t, "x": 1.0, "y": 0.0, "z": 0.0} for e, t in contents["accelerometer"]],
    )
    write(
        "step_trainer",
        [
            {"sensorReadingTime": t, "serialNumber": f"S-{e}", "distanceFromObject": 1}
            for e, t in contents["step_trainer"]
        ],
    )


def lake_tables(lake: Path) -> dict[str, Counter]:
    return {
        name: Counter(tuple(sorted(row.items())) for row in table_rows(lake, name))
        for names in TABLES.values()
        for name in names
    }


# The default, the consent cutoff alone (a contract column), and both options at once: the timestamp join,
# and a shared device's owners each counted from their own consent, run in the last.
OPTIONS = {
    "default": {},
    "consent_cutoff=on": {"consent_cutoff": True},
    "consent_cutoff=on,ml_join=timestamp": {"consent_cutoff": True, "ml_join": "timestamp"},
}


def materialize(landing: Path, lake: Path, ml_join: str = "customer", consent_cutoff: bool = False) -> None:
    options = ["--ml-join", ml_join, *(["--consent-cutoff"] if consent_cutoff else [])]
    command = ["materialize", "--landing", str(landing), "--lake", str(lake), "--pseudonym-key", "k", *options]
    assert main(command) == 0


@pytest.mark.parametrize("option", OPTIONS)
@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(scenario=scenarios)
def test_landing_one_date_at_a_time_equals_one_rebuild(option, scenario, spark, tmp_path_factory):
    contents, landing_order = scenario
    options = OPTIONS[option]
    work = tmp_path_factory.mktemp("incremental")
    landing, lake = work / "landing", work / "lake"
    for date in landing_order:
        write_date(landing, date, contents[DATES.index(date)])
        materialize(landing, lake, **options)
        expected = reference_tables(landing, pseudonym_key="k", **options)
        for name in TABLE_FIELDS:
            assert lake_table(lake, name) == expected[name], (name, date)
        consenting = {customer_key(row[1]) for row in expected["customer_trusted"]}
        withdrawn = {customer_key(e) for e in EMAILS} - consenting
        stored = lake_tables(lake)
        for name in TABLES["trusted"] + TABLES["curated"]:
            for row in stored[name]:
                values = dict(row)
                people = {customer_key(values[f]) for f in ("email", "user") if values.get(f)}
                assert not people & withdrawn, (name, values)

    # Partition for partition, as one rebuild from all the files lays them out.
    rebuild = work / "rebuild"
    materialize(landing, rebuild, **options)
    assert lake_tables(lake) == lake_tables(rebuild)

    # Each landing partition of readings keeps the time its readings span: the trusted builds read it there.
    for source, time in READING_TIME.items():
        table = LANDING_TABLES[source]
        times = {}
        for row in table_rows(lake, table.name):
            times.setdefault(row["ingest_date"], []).append(row[time])
        state = Lake(str(lake)).state(table)
        kept = {
            key: (entry["measures"]["first_reading"], entry["measures"]["last_reading"])
            for key, entry in state.items()
            if entry["rows"]
        }
        assert kept == {key: (min(values), max(values)) for key, values in times.items()}, source
