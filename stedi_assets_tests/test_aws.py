"""The AWS deployment, offline: the assets run as Glue or EMR Serverless job runs of the packaged entry
script, through dagster-aws Pipes on moto's S3, and commit Iceberg tables to the lake's catalog.

The stand-ins run the script in a subprocess on local Spark with Iceberg (as the service would on its own), on
the engine's Python with the artifacts `stedi aws package` builds, shipped as docs/aws.md says.
"""

import json
import subprocess
import sys
import tarfile
from pathlib import Path

import dagster as dg
import pyspark
import pytest

from stedi_assets.definitions import build_definitions
from stedi_assets.jobs import partition_range_tags
from stedi_assets.lake.catalog import LakeCatalog
from stedi_assets.landing_files import SOURCES, list_landing_files
from stedi_assets.partitions import ingest_date_partitions
from stedi_assets.remote.package import EMR_ARCHIVE
from stedi_assets.resources import shared_resources
from stedi_assets.resources.aws import emr_serverless_steps, glue_steps
from stedi_assets.schemas.tables import CUSTOMER_TRUSTED, LANDING_TABLES, QUARANTINE_TABLES, ZONE_TABLES
from stedi_assets_tests.aws_standins import EMR_RELEASE, LocalEmrServerless, LocalGlue, glue_5_python
from stedi_assets_tests.conftest import CONTRACT_COUNTS, REPO_ROOT
from stedi_assets_tests.lake_contents import table_rows
from stedi_assets_tests.reference import customer_key, pseudonym
from stedi_assets_tests.test_step_retries import retries

pytest_plugins = ["stedi_assets_tests.aws"]

pytestmark = pytest.mark.slow

PIPES_BUCKET, SCRIPTS_BUCKET, LAKE_BUCKET, DATABASE = "stedi-pipes", "stedi-scripts", "stedi-lake", "stedi"
SHIPPED = f"{SCRIPTS_BUCKET}/stedi"  # docs/aws.md's <bucket>/<prefix>
ENTRY_POINT = f"s3://{SHIPPED}/entry.py"
KEY_SECRET, KEY = "stedi/pseudonym-key", "a key only the jobs read"
STEDI = str(Path(sys.executable).parent / "stedi")


def stedi_aws_package(out: Path, *flags: str) -> Path:
    """The artifacts, built as docs/aws.md says (the CLI, in a subprocess)."""
    subprocess.run([STEDI, "aws", "package", "--out", str(out), *flags], check=True, capture_output=True, timeout=600)
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


def run_all_zones(defs: dg.Definitions, dates: list[str], selection=None) -> dg.ExecuteInProcessResult:
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(ingest_date_partitions.name, dates)
        return defs.resolve_job_def("all_zones").execute_in_process(
            instance=instance, tags=partition_range_tags(dates), raise_on_error=False, asset_selection=selection
        )


def assert_checks_came_back_and_passed(result: dg.ExecuteInProcessResult, assets: set[str], defs) -> None:
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}
    graph = defs.resolve_asset_graph()
    declared = {(k.asset_key.to_user_string(), k.name) for k in graph.asset_check_keys}
    assert set(evaluations) == {key for key in declared if key[0] in assets}
    assert all(e.passed for e in evaluations.values()), [k for k, e in evaluations.items() if not e.passed]
    # Each result belongs to the materialization this run reported, as in a local run.
    assert all(e.target_materialization_data.run_id == result.run_id for e in evaluations.values())


def ingest_dates(landing_root) -> list[str]:
    return sorted({f.ingest_date for source in SOURCES for f in list_landing_files(str(landing_root), source)})


# Glue 5 and EMR 7 run Spark 3.5: their stand-ins are run where the job's Spark is that version (`.ci/run`'s
# pyspark 3.5 pass), not a second time on a Spark neither runs.
spark_3_5 = pytest.mark.skipif(
    not pyspark.__version__.startswith("3.5."),
    reason="Glue 5 and EMR 7 run Spark 3.5: run under pyspark 3.5 (pip install -e '.[test]' -c "
    "constraints/spark-3.5.txt)",
)


@spark_3_5
def test_starter_data_through_glue_gives_the_contract_counts_checks_and_catalog(
    starter_data, shipped, packaged, glue_python, moto_endpoint, tmp_path
):
    """Every step as a run of a Glue 5.0 job made as docs/aws.md says (the artifacts of `stedi aws package`, its
    job parameters, Glue 5.0's Iceberg), on a Python with only what Glue provides and what the parameters
    install; the first run of customer_landing loses a race to another writer, says so through Pipes, and its
    step is computed again."""
    s3, glue = shipped
    ship(s3, packaged)
    create_glue_job(glue, "stedi-steps", documented_glue_arguments())
    dates = ingest_dates(starter_data)
    rival, raced = rival_writer(tmp_path / "rival", dates)
    runs = LocalGlue(glue, s3, moto_endpoint, glue_python, rival)
    steps = glue_steps("stedi-steps", PIPES_BUCKET, glue=runs, s3=s3)
    lake = f"s3://{LAKE_BUCKET}/glue"
    resources = shared_resources(str(starter_data), lake, pseudonym_key_secret=KEY_SECRET)
    defs = build_definitions({**resources, "zone_steps": steps})
    result = run_all_zones(defs, dates)
    assert result.success
    assert raced.exists() and retries(result) == ["customer_landing_zone"]

    events = result.get_asset_materialization_events()
    materializations = {e.asset_key.to_user_string(): e.materialization for e in events}
    expected = CONTRACT_COUNTS["default"]
    for table in ZONE_TABLES:
        metadata = materializations[table.name].metadata
        assert metadata["dagster/row_count"].value == expected[table.name], table.name
        assert metadata["AWS Glue Job Name"].value == "stedi-steps"  # it ran as a Glue job run
        assert metadata["AWS Glue Job Run ID"].value.startswith("jr_")
    assert_checks_came_back_and_passed(result, set(materializations), defs)

    # The lake on S3, read through the Glue catalog independently of what the script reported:
    registered = {table["Name"]: table for table in glue.get_tables(DatabaseName=DATABASE)["TableList"]}
    catalog = LakeCatalog(lake).pyiceberg()
    for table in ZONE_TABLES:
        assert registered[table.name]["Parameters"]["table_type"] == "ICEBERG"
        stored = catalog.load_table((DATABASE, table.name))
        assert stored.location() == f"{lake}/{table.zone}/{table.name}"
        metadata = materializations[table.name].metadata
        assert metadata["dagster/table_name"].value == f"lake.{DATABASE}.{table.name}"
        assert metadata["dagster/uri"].value == stored.location()
        assert metadata["iceberg_snapshot_id"].value == str(stored.current_snapshot().snapshot_id)
        rows = table_rows(lake, table.name)
        assert len(rows) == expected[table.name], table.name
        assert {row["ingest_date"] for row in rows} == set(dates)
    # The job read the pseudonym key from the secret: the ids are HMACs with it of curated customers' keys.
    curated = {customer_key(row["email"]) for row in table_rows(lake, "customer_curated")}
    ids = {row["customer_id"] for row in table_rows(lake, "machine_learning_curated")}
    assert ids and ids <= {pseudonym(customer, KEY) for customer in curated}
    assert catalog.load_table((DATABASE, "customer_landing")).schema().column_names == [
        *LANDING_TABLES["customer"].column_names,
        "ingest_date",
    ]


CUSTOMER_LANDING = [dg.AssetKey(LANDING_TABLES["customer"].name), dg.AssetKey(QUARANTINE_TABLES["customer"].name)]


def failed_step_runs(result: dg.ExecuteInProcessResult, runs) -> list[str]:
    """The logs of the job runs behind a run that failed (its one step), after checking that it did."""
    assert not result.success
    assert [e.step_key for e in result.all_events if e.is_step_failure] == ["customer_landing_zone"]
    return runs.logs()


@spark_3_5
def test_a_wheel_in_extra_py_files_reaches_the_driver_but_not_the_executors(
    starter_data, shipped, packaged, glue_python, moto_endpoint
):
    """The wheel in `--extra-py-files` instead of `--additional-python-modules` (what docs/aws.md warns
    against): the script imports the package from the wheel on the driver, and the landing parser's Python
    workers do not find it."""
    s3, glue = shipped
    ship(s3, packaged)
    arguments = documented_glue_arguments()
    wheel, *modules = arguments["--additional-python-modules"].split(",")
    assert wheel.endswith(".whl")
    arguments |= {"--additional-python-modules": ",".join(modules), "--extra-py-files": wheel}
    create_glue_job(glue, "stedi-steps-extra-py-files", arguments)
    runs = LocalGlue(glue, s3, moto_endpoint, glue_python)
    steps = glue_steps("stedi-steps-extra-py-files", PIPES_BUCKET, glue=runs, s3=s3)
    lake, namespace = f"s3://{LAKE_BUCKET}/extra-py-files", "stedi_extra_py_files"  # apart from the other tests'
    resources = shared_resources(str(starter_data), lake, namespace=namespace, pseudonym_key_secret=KEY_SECRET)
    result = run_all_zones(
        build_definitions({**resources, "zone_steps": steps}), ingest_dates(starter_data), CUSTOMER_LANDING
    )
    [log] = failed_step_runs(result, runs)
    assert "py3-none-any.whl/stedi_assets/" in log  # the driver ran the package from the wheel
    assert "PythonException" in log and "No module named 'stedi_assets'" in log  # a Python worker failed


@spark_3_5
def test_customer_tables_through_emr_serverless(
    starter_data, shipped, packaged_for_emr, moto_client, moto_endpoint, tmp_path
):
    """The same entry script as an EMR Serverless job run, where the pipes bootstrap comes as driver
    environment variables, on the Python of the archive `stedi aws package --emr` builds, given to the
    application as docs/aws.md says; two steps are enough to show the round trip. The first run of
    customer_landing loses a race to another writer: EMR Serverless's failures say only that the job failed, so
    the job says it through Pipes, and its step is computed again."""
    s3, glue = shipped
    ship(s3, packaged_for_emr)
    dates = ingest_dates(starter_data)
    rival, raced = rival_writer(tmp_path / "rival", dates)
    runs = LocalEmrServerless(
        emr_client := moto_client("emr-serverless"), s3, moto_endpoint, documented_emr_configuration(), rival
    )
    lake, namespace = f"s3://{LAKE_BUCKET}/emr", "stedi_emr"  # apart from the Glue test's tables
    defs = emr_definitions(emr_client, s3, runs, str(starter_data), lake, namespace)
    tables = [LANDING_TABLES["customer"], QUARANTINE_TABLES["customer"], CUSTOMER_TRUSTED]
    result = run_all_zones(defs, dates, [dg.AssetKey(t.name) for t in tables])
    assert result.success
    assert raced.exists() and retries(result) == ["customer_landing_zone"]
    events = result.get_asset_materialization_events()
    rows = {e.asset_key.to_user_string(): e.materialization.metadata["dagster/row_count"].value for e in events}
    expected = CONTRACT_COUNTS["default"]
    assert rows == {
        "customer_landing": expected["customer_landing"],
        "customer_quarantine": 0,
        "customer_trusted": expected["customer_trusted"],
    }
    assert_checks_came_back_and_passed(result, set(rows), defs)
    stored = LakeCatalog(lake, namespace).pyiceberg().load_table((namespace, "customer_trusted"))
    assert stored.location() == f"{lake}/trusted/customer_trusted"
    assert len(stored.scan().to_arrow()) == expected["customer_trusted"]


def emr_definitions(emr, s3, runs: LocalEmrServerless, landing: str, lake: str, namespace: str) -> dg.Definitions:
    """The AWS deployment's assets on an EMR Serverless application whose job runs `runs` runs."""
    application = emr.create_application(name="stedi", releaseLabel=EMR_RELEASE, type="SPARK")["applicationId"]
    steps = emr_serverless_steps(
        application,
        "arn:aws:iam::123456789012:role/stedi-emr",
        ENTRY_POINT,
        PIPES_BUCKET,
        emr_serverless=runs,
        s3=runs._s3,
    )
    resources = shared_resources(landing, lake, namespace=namespace, pseudonym_key_secret=KEY_SECRET)
    return build_definitions({**resources, "zone_steps": steps})


@spark_3_5
def test_emr_serverless_without_the_archive_runs_its_own_python_and_fails(
    starter_data, shipped, packaged, moto_client, moto_endpoint
):
    """The application configured without the archive and its Python: the job runs on EMR's own Python, which
    has none of the job's modules, and fails at once."""
    s3, glue = shipped
    ship(s3, packaged)
    [settings] = documented_emr_configuration()
    kept = {k: v for k, v in settings["properties"].items() if "archives" not in k and "PYTHON" not in k}
    runs = LocalEmrServerless(
        emr_client := moto_client("emr-serverless"), s3, moto_endpoint, [{**settings, "properties": kept}]
    )
    defs = emr_definitions(emr_client, s3, runs, str(starter_data), f"s3://{LAKE_BUCKET}/emr-bare", "stedi_emr_bare")
    [log] = failed_step_runs(run_all_zones(defs, ingest_dates(starter_data), CUSTOMER_LANDING), runs)
    assert "ModuleNotFoundError: No module named" in log


@spark_3_5
def test_the_emr_archive_runs_its_own_python_wherever_it_is_unpacked(packaged_for_emr, tmp_path):
    """The archive's Python finds its standard library, its library and the job's modules inside the archive
    only, with an empty environment, as EMR unpacks it in a job's working folder."""
    unpacked = tmp_path / "job" / "environment"
    with tarfile.open(packaged_for_emr / EMR_ARCHIVE) as archive:
        archive.extractall(unpacked)
    report = "import sys, json, stedi_assets, dagster_pipes, pandera, pyiceberg, pyarrow, pandas, boto3; "
    report += "loaded = [line.split()[-1] for line in open('/proc/self/maps') if '/' in line]; "
    report += "print(json.dumps([sys.prefix, sys.path, pyarrow.__version__, stedi_assets.__file__, loaded]))"
    done = subprocess.run(
        ["./environment/bin/python", "-c", report], cwd=unpacked.parent, env={}, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    prefix, path, pyarrow_version, package, loaded = json.loads(done.stdout)
    inside = str(unpacked.resolve())
    assert prefix == inside and package.startswith(inside)
    assert all(entry.startswith(inside) for entry in path if entry), path
    # Its libpython, when the interpreter loads one, is the archive's (the binary names the build machine's folder).
    assert all(file.startswith(inside) for file in loaded if "libpython" in file), loaded
    assert pyarrow_version == "18.1.0"  # pyiceberg 0.12's pyarrow support needs 18 or newer


def test_the_entry_script_imports_no_dagster():
    """Glue installs `dagster-pipes`, not Dagster: the script and everything it imports must do without."""
    blocked = "import sys; sys.modules['dagster'] = None; import stedi_assets.remote.entry"
    subprocess.run([sys.executable, "-c", blocked], check=True, capture_output=True, timeout=120)
