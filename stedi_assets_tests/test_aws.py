"""The AWS deployment, offline: the assets run as Glue or EMR Serverless job runs of the packaged entry
script, through dagster-aws Pipes on moto's S3, and commit Iceberg tables to the lake's catalog.

The stand-ins run the script in a subprocess on local Spark with Iceberg (as the service would on its own).
"""

import subprocess
import sys
from importlib import resources

import dagster as dg
import pyspark
import pytest

from stedi_assets.definitions import build_definitions
from stedi_assets.jobs import partition_range_tags
from stedi_assets.lake.catalog import LakeCatalog
from stedi_assets.landing_files import SOURCES, list_landing_files
from stedi_assets.partitions import ingest_date_partitions
from stedi_assets.resources import shared_resources
from stedi_assets.resources.aws import emr_serverless_steps, glue_steps
from stedi_assets.schemas.tables import CUSTOMER_TRUSTED, LANDING_TABLES, QUARANTINE_TABLES, ZONE_TABLES
from stedi_assets_tests.aws_standins import LocalEmrServerless, LocalGlue
from stedi_assets_tests.conftest import CONTRACT_COUNTS, REPO_ROOT
from stedi_assets_tests.lake_contents import table_rows
from stedi_assets_tests.reference import customer_key, pseudonym
from stedi_assets_tests.test_step_retries import retries

pytest_plugins = ["stedi_assets_tests.aws"]

pytestmark = pytest.mark.slow

PIPES_BUCKET, SCRIPTS_BUCKET, LAKE_BUCKET, DATABASE = "stedi-pipes", "stedi-scripts", "stedi-lake", "stedi"
ENTRY_POINT = f"s3://{SCRIPTS_BUCKET}/stedi/entry.py"
KEY_SECRET, KEY = "stedi/pseudonym-key", "a key only the jobs read"


@pytest.fixture
def shipped(moto_client, moto_env) -> tuple:
    """The buckets, and the entry script shipped to S3 (docs/aws.md). Returns (s3, glue). The test
    reads the lake through the environment (`moto_env`)."""
    s3 = moto_client("s3")
    for bucket in (PIPES_BUCKET, SCRIPTS_BUCKET, LAKE_BUCKET):
        s3.create_bucket(Bucket=bucket)
    script = resources.files("stedi_assets.remote") / "entry.py"
    s3.put_object(Bucket=SCRIPTS_BUCKET, Key="stedi/entry.py", Body=script.read_bytes())
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


def documented_glue_arguments() -> dict[str, str]:
    """The Glue job parameters docs/aws.md gives (its block after "Its job parameters:"), as a job's defaults."""
    text = (REPO_ROOT / "docs" / "aws.md").read_text()
    block = text.split("Its job parameters:", 1)[1].split("```", 2)[1]
    return dict(line.split(None, 1) for line in block.strip().splitlines())


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


# Glue 5 runs Spark 3.5: its stand-in is run where the job's Spark is that version (`.ci/run`'s pyspark 3.5 pass),
# not a second time on a Spark no Glue job runs.
@pytest.mark.skipif(
    not pyspark.__version__.startswith("3.5."),
    reason="Glue 5 runs Spark 3.5: run under pyspark 3.5 (pip install -e '.[test]' -c constraints/spark-3.5.txt)",
)
def test_starter_data_through_glue_gives_the_contract_counts_checks_and_catalog(
    starter_data, shipped, moto_endpoint, tmp_path
):
    """Every step as a run of a Glue 5.0 job made as docs/aws.md says (its job parameters, with Glue 5.0's
    Iceberg); the first run of customer_landing loses a race to another writer, says so through Pipes, and its
    step is computed again."""
    s3, glue = shipped
    glue.create_job(
        Name="stedi-steps",
        Role="arn:aws:iam::123456789012:role/stedi-glue",
        Command={"Name": "glueetl", "ScriptLocation": ENTRY_POINT, "PythonVersion": "3"},
        GlueVersion="5.0",
        DefaultArguments=documented_glue_arguments(),
    )
    dates = ingest_dates(starter_data)
    rival, raced = rival_writer(tmp_path / "rival", dates)
    steps = glue_steps("stedi-steps", PIPES_BUCKET, glue=LocalGlue(glue, s3, moto_endpoint, rival), s3=s3)
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


def test_customer_tables_through_emr_serverless(starter_data, shipped, moto_client, moto_endpoint, tmp_path):
    """The same entry script as an EMR Serverless job run, where the pipes bootstrap comes as driver
    environment variables; two steps are enough to show the round trip. The first run of customer_landing
    loses a race to another writer: EMR Serverless's failures say only that the job failed, so the job says it
    through Pipes, and its step is computed again."""
    s3, glue = shipped
    emr = moto_client("emr-serverless")
    application = emr.create_application(name="stedi", releaseLabel="emr-7.5.0", type="SPARK")["applicationId"]
    dates = ingest_dates(starter_data)
    rival, raced = rival_writer(tmp_path / "rival", dates)
    steps = emr_serverless_steps(
        application,
        "arn:aws:iam::123456789012:role/stedi-emr",
        ENTRY_POINT,
        PIPES_BUCKET,
        emr_serverless=LocalEmrServerless(emr, s3, moto_endpoint, rival),
        s3=s3,
    )
    lake, namespace = f"s3://{LAKE_BUCKET}/emr", "stedi_emr"  # apart from the Glue test's tables
    resources = shared_resources(str(starter_data), lake, namespace=namespace, pseudonym_key_secret=KEY_SECRET)
    defs = build_definitions({**resources, "zone_steps": steps})
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


def test_the_entry_script_imports_no_dagster():
    """Glue installs `dagster-pipes`, not Dagster: the script and everything it imports must do without."""
    blocked = "import sys; sys.modules['dagster'] = None; import stedi_assets.remote.entry"
    subprocess.run([sys.executable, "-c", blocked], check=True, capture_output=True, timeout=120)
