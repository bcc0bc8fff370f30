"""Code versions (`Table.code_version`, in each table's module): an upgrade recomputes exactly the tables whose
code changed.

`output_digests.json` records, per table, its code version and a digest of what it holds after a run on the fixed
landing data below. A change to a table's output without a bump of its version fails here. After a deliberate
change, bump the version and record the new digests:

    STEDI_RECORD_OUTPUT_DIGESTS=1 pytest stedi_assets_tests/test_code_versions.py -k fixed_input
"""

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from stedi_assets.cli import main
from stedi_assets.schemas.tables import ZONE_TABLES
from stedi_assets.zones import BUILDS
from stedi_assets.zones.landing import LANDING_PARSER
from stedi_assets_tests.lake_contents import current_snapshots, table_rows
from stedi_assets_tests.servers import REPO, dagster_env

CODE_VERSIONS = {table.spec.name: table.code_version for build in BUILDS.values() for table in build.tables}

RECORD = Path(__file__).with_name("output_digests.json")
KEY = "code-versions-test-key"


def customer(email, updated, consent, serial):
    return {
        "customerName": email.split("@")[0],
        "email": email,
        "phone": "555",
        "birthDay": "1990-01-01",
        "serialNumber": serial,
        "registrationDate": 1,
        "lastUpdateDate": updated,
        "shareWithResearchAsOfDate": consent,
    }


def accelerometer(user, timestamp, x=1.0):
    return {"user": user, "timestamp": timestamp, "x": x, "y": 0.5, "z": -0.5}


def step(serial, time, distance):
    return {"sensorReadingTime": time, "serialNumber": serial, "distanceFromObject": distance}


# Two ingest dates that reach every table: consent granted, refused and withdrawn, repeated readings, a device
# without an owner, and invalid lines of each kind, among enough lines of customers who never consent to keep
# the quarantine rate under its error threshold.
FIXED_LANDING = {
    "2024-01-01": {
        "customer": [
            customer("ann@x.com", 1, 5, "S-ann"),
            customer("bob@x.com", 1, None, "S-bob"),
            customer("cid@x.com", 1, 5, "S-cid"),
            "not json",
            '{"email": 5}',
        ],
        "accelerometer": [
            accelerometer("ann@x.com", 10),
            accelerometer("ann@x.com", 11),
            accelerometer("ann@x.com", 11),
            accelerometer("bob@x.com", 10),
            accelerometer("cid@x.com", 12),
            "[1, 2]",
        ],
        "step_trainer": [
            step("S-ann", 10, 1),
            step("S-ann", 11, 2),
            step("S-bob", 10, 3),
            step("S-cid", 12, 4),
            step("S-nobody", 12, 5),
        ],
    },
    "2024-01-02": {
        "customer": [customer("cid@x.com", 2, None, "S-cid"), customer("ann@x.com", 0, None, "S-ann")],
        "accelerometer": [accelerometer("ann@x.com", 13), accelerometer("ann@x.com", 11), '{"user": "ann@x.com"}'],
        "step_trainer": [step("S-ann", 13, 6), step("S-ann", 11, 2), '{"sensorReadingTime": "soon"}'],
    },
}


FILLER = {
    "customer": [customer(f"quiet{i}@x.com", 1, None, f"S-quiet{i}") for i in range(20)],
    "accelerometer": [accelerometer(f"quiet{i}@x.com", 10) for i in range(20)],
    "step_trainer": [step(f"S-quiet{i}", 10, 0) for i in range(20)],
}


def write_landing(root: Path) -> Path:
    for date, sources in FIXED_LANDING.items():
        for source, lines in sources.items():
            lines = [*lines, *FILLER[source]]
            folder = root / source / "landing" / f"ingest_date={date}"
            folder.mkdir(parents=True)
            text = "".join((line if isinstance(line, str) else json.dumps(line)) + "\n" for line in lines)
            (folder / f"{source}.json").write_text(text)
    return root


def table_digest(rows: list[dict]) -> str:
    lines = sorted(json.dumps(row, sort_keys=True, default=str) for row in rows)
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def test_output_on_a_fixed_input_changes_only_with_the_code_version(spark, tmp_path):
    landing, lake = write_landing(tmp_path / "landing"), tmp_path / "lake"
    assert main(["materialize", "--landing", str(landing), "--lake", str(lake), "--pseudonym-key", KEY]) == 0
    outputs = {table: table_digest(table_rows(lake, table)) for table in CODE_VERSIONS}
    assert all(table_rows(lake, table) for table in CODE_VERSIONS)  # the fixed input reaches every table
    current = {table: {"code_version": CODE_VERSIONS[table], "digest": outputs[table]} for table in CODE_VERSIONS}
    if os.environ.get("STEDI_RECORD_OUTPUT_DIGESTS") == "1":
        RECORD.write_text(json.dumps(current, indent=2, sort_keys=True) + "\n")
    recorded = json.loads(RECORD.read_text())
    for table, now in current.items():
        before = recorded.get(table, {})
        if now["code_version"] == before.get("code_version"):
            assert now["digest"] == before["digest"], (
                f"{table}'s output changed: bump its code_version in its module (stedi_assets/zones/), then record the "
                f"digests ({__doc__.split('::')[1].strip()})"
            )
        else:
            pytest.fail(f"{table} has a new code version: record its digest ({__doc__.split('::')[1].strip()})")


# The end-to-end upgrade: the CLI of a copy of the package, edited as a release would edit it.


def stedi(package_copy: Path, env: dict, *arguments: str) -> subprocess.CompletedProcess:
    """`python -m` puts the working folder first on the path: the copy's folder, not the repository."""
    command = [sys.executable, "-m", "stedi_assets.cli", *arguments]
    completed = subprocess.run(command, cwd=package_copy, env=env, capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr[-3000:]
    return completed


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert text.count(old) == 1, f"{old!r} is not in {path} once: update this test"
    path.write_text(text.replace(old, new))


def recomputed(home: Path) -> dict[str, list[str]]:
    """Each table's partitions that its newest run computed (their `recomputed` metadata)."""
    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs(limit=1)
        events = instance.all_logs(run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
        computed = {table: [] for table in CODE_VERSIONS}
        for event in events:
            materialization = event.asset_materialization
            if materialization.metadata["recomputed"].value:
                computed[materialization.asset_key.to_user_string()].append(materialization.partition)
        return {table: sorted(partitions) for table, partitions in computed.items()}


@pytest.mark.slow
def test_an_upgrade_recomputes_exactly_the_tables_whose_code_changed(spark, tmp_path, monkeypatch):
    copy = tmp_path / "release"
    shutil.copytree(REPO / "stedi_assets", copy / "stedi_assets", ignore=shutil.ignore_patterns("__pycache__"))
    landing, lake, home = write_landing(tmp_path / "landing"), tmp_path / "lake", tmp_path / "home"
    env = dagster_env(home, landing, lake)
    run = ["materialize", "--landing", str(landing), "--lake", str(lake), "--pseudonym-key", KEY]
    # The version installed before the upgrade is this repository's code (the copy is still the same): its run
    # goes in this process, into the same Dagster instance; the releases run as their own processes.
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    assert main(run) == 0
    dates = sorted(FIXED_LANDING)
    assert set(map(tuple, recomputed(home).values())) == {tuple(dates)}  # the first run computes everything

    # A release that only edits comments and layout recomputes nothing: the lake says it is up to date with the
    # release's code versions, and a run (asked for with a profile's checks) recomputes no partition.
    for module in (copy / "stedi_assets").rglob("*.py"):
        module.write_text(module.read_text() + "\n# a comment a release added\n")
    before = current_snapshots(lake)
    assert "The lake is up to date" in stedi(copy, env, *run).stdout
    profile = tmp_path / "profile.json"  # the counts the lake holds (read by pyiceberg): the run keeps them
    counts = {table.name: len(table_rows(lake, table.name)) for table in ZONE_TABLES}
    profile.write_text(json.dumps({"counts": {"default": counts}}))
    assert "up to date" not in stedi(copy, env, *run, "--expect", str(profile)).stdout
    assert current_snapshots(lake) == before
    assert recomputed(home) == {table: [] for table in CODE_VERSIONS}

    # A fix of step_trainer_trusted (here: it keeps even distances only) with its version bumped recomputes it
    # and machine_learning_curated and training_set, whose inputs changed, and nothing upstream.
    steps_before = table_rows(lake, "step_trainer_trusted")
    pairs_before = table_rows(lake, "machine_learning_curated")
    edit(
        copy / "stedi_assets" / "transforms" / "trusted.py",
        "return trusted.select(*STEP_TRAINER_TRUSTED.column_names, PARTITION_COLUMN)",
        'return trusted.where(F.col("distanceFromObject") % 2 == 0).select(*STEP_TRAINER_TRUSTED.column_names, '
        "PARTITION_COLUMN)",
    )
    step_trainer_trusted = copy / "stedi_assets" / "zones" / "trusted" / "step_trainer_trusted.py"
    version = CODE_VERSIONS["step_trainer_trusted"]
    edit(step_trainer_trusted, f'code_version="{version}"', f'code_version="{int(version) + 1}"')
    stedi(copy, env, *run)
    after = current_snapshots(lake)
    assert {table for table in after if after[table] != before[table]} == {
        "step_trainer_trusted",
        "machine_learning_curated",
        "training_set",  # every machine_learning_curated row
    }
    assert recomputed(home)["step_trainer_trusted"] == dates
    even = [row for row in steps_before if row["distanceFromObject"] % 2 == 0]
    assert table_digest(table_rows(lake, "step_trainer_trusted")) == table_digest(even)
    even_pairs = [row for row in pairs_before if row["distanceFromObject"] % 2 == 0]
    assert table_digest(table_rows(lake, "machine_learning_curated")) == table_digest(even_pairs)
    assert len(even_pairs) < len(pairs_before)

    # A parser fix (here: a reworded reason) with the parser's version bumped parses every date again.
    edit(
        copy / "stedi_assets" / "transforms" / "landing_parser.py",
        'f"invalid JSON: {error}"',
        'f"not JSON: {error}"',
    )
    bumped = f'LANDING_PARSER = "{int(LANDING_PARSER) + 1}"'
    edit(copy / "stedi_assets" / "zones" / "landing.py", f'LANDING_PARSER = "{LANDING_PARSER}"', bumped)
    quarantined_before = table_rows(lake, "customer_quarantine")
    stedi(copy, env, *run)
    assert recomputed(home)["customer_landing"] == dates
    reasons = sorted(row["reason"] for row in table_rows(lake, "customer_quarantine"))
    expected = sorted(row["reason"].replace("invalid JSON: ", "not JSON: ") for row in quarantined_before)
    assert reasons == expected and any(reason.startswith("not JSON: ") for reason in reasons)
