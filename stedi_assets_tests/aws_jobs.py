"""What the AWS job tests share (`test_aws_glue.py`, `test_aws_emr.py`): the artifacts of `stedi aws package`,
shipped as docs/aws.md says, the buckets and the key's secret on moto, a rival writer, the documented job
settings, the deployment's definitions, and the assertions on a run. A pytest plugin of those modules, for its
fixtures (`pytest_plugins`).

The stand-ins (`aws_standins.py`) run the script in a subprocess on local Spark with Iceberg (as the service would
on its own), on the engine's Python.
"""

import json
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pyspark
import pytest

from stedi_assets.definitions import build_definitions
from stedi_assets.jobs import partition_range_tags
from stedi_assets.landing_files import SOURCES, list_landing_files
from stedi_assets.partitions import ingest_date_partitions
from stedi_assets.resources import shared_resources
from stedi_assets.schemas.tables import LANDING_TABLES, QUARANTINE_TABLES, ZONE_TABLES
from stedi_assets.zones import BUILDS
from stedi_assets.zones.curated.machine_learning_curated import CROSS_PAIRS
from stedi_assets_tests.aws_standins import glue_5_python
from stedi_assets_tests.conftest import COLUMN_OPTIONS, CONTRACT_COUNTS, OPTION_COLUMNS, REPO_ROOT
from stedi_assets_tests.lake_contents import current_snapshots, lake_table, table_rows
from stedi_assets_tests.reference import reference_tables
from stedi_assets_tests.test_step_retries import retries

PIPES_BUCKET, SCRIPTS_BUCKET, LAKE_BUCKET, DATABASE = "stedi-pipes", "stedi-scripts", "stedi-lake", "stedi"
SHIPPED = f"{SCRIPTS_BUCKET}/stedi"  # docs/aws.md's <bucket>/<prefix>
ENTRY_POINT = f"s3://{SHIPPED}/entry.py"
KEY_SECRET, KEY = "stedi/pseudonym-key", "a key only the jobs read"
STEDI = str(Path(sys.executable).parent / "stedi")


def stedi_aws_package(out: Path, *flags: str) -> Path:
    """The artifacts, built as docs/aws.md says (the CLI, in a subprocess); a failed build shows what it said."""
    command = [STEDI, "aws", "package", "--out", str(out), *flags]
    built = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stdout[-2000:] + built.stderr[-4000:]
    return out


@pytest.fixture(scope="module")
def packaged(tmp_path_factory) -> Path:
    """The folder of the wheel and the entry script."""
    return stedi_aws_package(tmp_path_factory.mktemp("packaged"))


@pytest.fixture(scope="module")
def packaged_for_emr(tmp_path_factory) -> Path:
    """The folder of the wheel, the entry script and the EMR archive."""
    return stedi_aws_package(tmp_path_factory.mktemp("packaged-emr"), "--emr")


@pytest.fixture(scope="module")
def glue_python(tmp_path_factory) -> Path:
    """A Python with what Glue 5.0 provides, and not the project."""
    return glue_5_python(tmp_path_factory.mktemp("glue-python") / "venv")


def ship(s3, folder: Path) -> None:
    """`aws s3 cp --recursive <folder> s3://<bucket>/<prefix>/`, as docs/aws.md says."""
    for artifact in folder.iterdir():
        s3.upload_file(str(artifact), SCRIPTS_BUCKET, f"stedi/{artifact.name}")


@pytest.fixture
def shipped(moto_client, moto_env) -> tuple:
    """The buckets and the pseudonym key's secret. Returns (s3, glue). The test reads the lake through the
    environment (`moto_env`)."""
    s3 = moto_client("s3")
    for bucket in (PIPES_BUCKET, SCRIPTS_BUCKET, LAKE_BUCKET):
        s3.create_bucket(Bucket=bucket)  # in us-east-1, again for each test: the bucket and its objects stay
    secrets = moto_client("secretsmanager")
    if not secrets.list_secrets(Filters=[{"Key": "name", "Values": [KEY_SECRET]}])["SecretList"]:
        secrets.create_secret(Name=KEY_SECRET, SecretString=KEY)
    return s3, moto_client("glue")


# Loaded at the start of a job's Python (`sitecustomize`, on the job's PYTHONPATH): right after the job pins
# customer_landing, the first time (the marker file says it happened), another writer commits the table first, so
# the job's own commit fails Iceberg's validation: a real lost race, in the job run.
RIVAL_WRITER = """
import os
from pathlib import Path

if os.environ.get("STEDI_TEST_RIVAL"):
    from pyspark.sql import SparkSession

    from stedi_assets.lake.iceberg_tables import Lake
    from stedi_assets.schemas.tables import LANDING_TABLES

    customers, pin = LANDING_TABLES["customer"], Lake.pin

    def pin_then_lose_a_race(lake, table):
        pinned = pin(lake, table)
        marker = Path(os.environ["STEDI_TEST_RIVAL"])
        if table == customers and not marker.exists():
            marker.touch()
            rival = Lake(lake.root, lake.namespace)
            rows = rival.read(SparkSession.getActiveSession(), customers).limit(1)
            dates = [d.strip() for d in os.environ["STEDI_TEST_RIVAL_DATES"].split(",")]
            rival.replace_partitions(rows, customers, dates, {d: {"written_by": "rival"} for d in dates})
        return pinned

    Lake.pin = pin_then_lose_a_race
"""


def rival_writer(folder, dates: list[str]) -> tuple[dict[str, str], object]:
    """A job environment where another writer commits customer_landing first, once: (environment, marker)."""
    folder.mkdir()
    (folder / "sitecustomize.py").write_text(RIVAL_WRITER)
    marker = folder / "raced"
    dates_text = ",".join(dates)
    return {"PYTHONPATH": str(folder), "STEDI_TEST_RIVAL": str(marker), "STEDI_TEST_RIVAL_DATES": dates_text}, marker


def documented(after: str) -> str:
    """docs/aws.md's code block after the words `after`, shipped where the tests ship the artifacts."""
    text = (REPO_ROOT / "docs" / "aws.md").read_text()
    block = text.split(after, 1)[1].split("```", 2)[1]
    return block.removeprefix("json").replace("<bucket>/<prefix>", SHIPPED)


def documented_glue_arguments() -> dict[str, str]:
    """The Glue job parameters docs/aws.md gives, as a job's defaults."""
    return dict(line.split(None, 1) for line in documented("Its job parameters:").strip().splitlines())


def documented_emr_configuration() -> list[dict]:
    """The EMR Serverless application's runtime configuration docs/aws.md gives."""
    return json.loads(documented("Its runtime configuration:"))


def create_glue_job(glue, name: str, arguments: dict[str, str]) -> None:
    glue.create_job(
        Name=name,
        Role="arn:aws:iam::123456789012:role/stedi-glue",
        Command={"Name": "glueetl", "ScriptLocation": ENTRY_POINT, "PythonVersion": "3"},
        GlueVersion="5.0",
        DefaultArguments=arguments,
    )


def deployment(steps, landing: str, lake: str, namespace: str = DATABASE):
    """The AWS deployment's assets with their steps run by `steps`, as a function of the options (keyword
    arguments of `shared_resources`)."""

    def definitions(options: dict) -> dg.Definitions:
        resources = shared_resources(landing, lake, namespace=namespace, pseudonym_key_secret=KEY_SECRET, **options)
        return build_definitions({**resources, "zone_steps": steps})

    return definitions


def run_all_zones(defs: dg.Definitions, dates: list[str], selection=None) -> dg.ExecuteInProcessResult:
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(ingest_date_partitions.name, dates)
        return defs.resolve_job_def("all_zones").execute_in_process(
            instance=instance, tags=partition_range_tags(dates), raise_on_error=False, asset_selection=selection
        )


def check_evaluations(result: dg.ExecuteInProcessResult, assets: set[str], defs) -> dict[tuple[str, str], object]:
    """Every check declared on `assets` came back from the run, by (asset, check)."""
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}
    graph = defs.resolve_asset_graph()
    declared = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert set(evaluations) == {key for key in declared if key[0] in assets}
    # Each result belongs to the materialization this run reported, as in a local run.
    assert all(e.target_materialization_data.run_id == result.run_id for e in evaluations.values())
    return evaluations


def assert_checks_came_back_and_passed(result: dg.ExecuteInProcessResult, assets: set[str], defs) -> None:
    evaluations = check_evaluations(result, assets, defs)
    assert all(e.passed for e in evaluations.values()), [k for k, e in evaluations.items() if not e.passed]


def assert_the_default_column_ran(result: dg.ExecuteInProcessResult, raced: Path, defs) -> dict:
    """The run of every step in the default column, whose first run of customer_landing lost its race to the
    rival writer (`rival_writer`): it succeeded with that step alone computed again, every zone table reported
    the contract's count, and every check came back and passed. Returns each table's materialization."""
    assert result.success
    assert raced.exists() and retries(result) == ["customer_landing_zone"]
    materializations = {
        e.asset_key.to_user_string(): e.materialization for e in result.get_asset_materialization_events()
    }
    counts = {table.name: materializations[table.name].metadata["dagster/row_count"].value for table in ZONE_TABLES}
    assert counts == CONTRACT_COUNTS["default"]
    assert_checks_came_back_and_passed(result, set(materializations), defs)
    return materializations


def ingest_dates(landing_root) -> list[str]:
    return sorted({f.ingest_date for source in SOURCES for f in list_landing_files(str(landing_root), source)})


def recomputed_by(defs: dg.Definitions, options: set[str]) -> list[dg.AssetKey]:
    """The tables whose rows `options` shape (`Table.shaped_by`) and every table downstream of them: what a change
    of these options makes out of date."""
    shaped = [table.spec.name for build in BUILDS.values() for table in build.tables if options & set(table.shaped_by)]
    return sorted(dg.AssetSelection.assets(*shaped).downstream().resolve(defs.resolve_asset_graph()))


def assert_the_other_option_columns(
    definitions, landing: str, dates: list[str], lake: str, namespace: str = DATABASE
) -> None:
    """After a run of the contract's default column, its other columns through the same engine on the same lake,
    in turn: each run (`definitions(options)`: the deployment with a column's options) selects what the change of
    options makes out of date and commits nothing else, and the lake then holds the column (`assert_lake_holds`)."""
    previous = COLUMN_OPTIONS["default"]
    for column in OPTION_COLUMNS[1:]:
        options = COLUMN_OPTIONS[column]
        changed = {name for name in {*previous, *options} if previous.get(name) != options.get(name)}
        defs = definitions(options)
        selection = {key.to_user_string() for key in recomputed_by(defs, changed)}
        before = current_snapshots(lake, namespace)
        result = run_all_zones(defs, dates, [dg.AssetKey(name) for name in sorted(selection)])
        assert result.success, column
        materialized = {event.asset_key.to_user_string() for event in result.get_asset_materialization_events()}
        assert materialized == selection, column
        after = current_snapshots(lake, namespace)
        assert {name for name in after if after[name] != before[name]} <= selection, column  # the rest is up to date
        evaluations = check_evaluations(result, materialized, defs)
        failed = {key for key, evaluation in evaluations.items() if not evaluation.passed}
        # ml_join=timestamp pairs two customers' readings by design: its check says so, as a WARN.
        expected = {("machine_learning_curated", CROSS_PAIRS)} if options.get("ml_join") == "timestamp" else set()
        assert failed == expected, column
        assert all(evaluations[key].severity == dg.AssetCheckSeverity.WARN for key in failed)
        assert_lake_holds(column, landing, lake, namespace)
        previous = options


def assert_lake_holds(column: str, landing: str, lake: str, namespace: str = DATABASE) -> None:
    """The lake, read with pyiceberg, holds the contract's column: its counts in every zone table, no quarantined
    line (the starter data has none), and in every zone table the rows the independent reference implementation
    computes from the landing files with the column's options and the key the jobs read from the secret."""
    stored = {table.name: len(table_rows(lake, table.name, namespace)) for table in ZONE_TABLES}
    assert stored == CONTRACT_COUNTS[column], column
    assert not any(table_rows(lake, table.name, namespace) for table in QUARANTINE_TABLES.values()), column
    expected = reference_tables(landing, pseudonym_key=KEY, **COLUMN_OPTIONS[column])
    for table in ZONE_TABLES:
        assert lake_table(lake, table.name, namespace) == expected[table.name], (column, table.name)


# Glue 5 and EMR 7 run Spark 3.5: their stand-ins are run where the job's Spark is that version (`.ci/run`'s
# pyspark 3.5 pass), not a second time on a Spark neither runs.
spark_3_5 = pytest.mark.skipif(
    not pyspark.__version__.startswith("3.5."),
    reason="Glue 5 and EMR 7 run Spark 3.5: run under pyspark 3.5 (pip install -e '.[test]' -c "
    "constraints/spark-3.5.txt)",
)


CUSTOMER_LANDING = [dg.AssetKey(LANDING_TABLES["customer"].name), dg.AssetKey(QUARANTINE_TABLES["customer"].name)]


def failed_step_runs(result: dg.ExecuteInProcessResult, runs) -> list[str]:
    """The logs of the job runs behind a run that failed (its one step), after checking that it did."""
    assert not result.success
    assert [e.step_key for e in result.all_events if e.is_step_failure] == ["customer_landing_zone"]
    return runs.logs()
