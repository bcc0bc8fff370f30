"""The AWS deployment on Glue 5.0, offline: every step as a run of a Glue job made as docs/aws.md says, of the
packaged entry script, through dagster-aws Pipes on moto's S3, committing Iceberg tables to the Glue Data
Catalog. What the Glue and EMR Serverless tests share is in `aws_jobs.py`; the stand-ins in `aws_standins.py`.
"""

import subprocess
import sys

import pytest

from stedi_assets.lake.catalog import LakeCatalog
from stedi_assets.resources.aws import glue_steps
from stedi_assets.schemas.tables import LANDING_TABLES, ZONE_TABLES
from stedi_assets_tests.aws_jobs import (
    CUSTOMER_LANDING,
    DATABASE,
    KEY,
    LAKE_BUCKET,
    PIPES_BUCKET,
    assert_lake_holds,
    assert_the_default_column_ran,
    assert_the_other_option_columns,
    create_glue_job,
    deployment,
    documented_glue_arguments,
    failed_step_runs,
    ingest_dates,
    rival_writer,
    run_all_zones,
    ship,
    spark_3_5,
)
from stedi_assets_tests.aws_standins import LocalGlue
from stedi_assets_tests.conftest import COLUMN_OPTIONS, CONTRACT_COUNTS
from stedi_assets_tests.lake_contents import table_rows
from stedi_assets_tests.reference import customer_key, pseudonym

pytest_plugins = ["stedi_assets_tests.aws", "stedi_assets_tests.aws_jobs"]

pytestmark = pytest.mark.slow


@spark_3_5
def test_starter_data_through_glue_gives_the_contract_counts_checks_and_catalog(
    starter_data, shipped, packaged, glue_python, moto_endpoint, tmp_path
):
    """Every step as a run of a Glue 5.0 job made as docs/aws.md says (the artifacts of `stedi aws package`, its
    job parameters, Glue 5.0's Iceberg), on a Python with only what Glue provides and what the parameters
    install; the first run of customer_landing loses a race to another writer, says so through Pipes, and its
    step is computed again. Then the contract's other option columns."""
    s3, glue = shipped
    ship(s3, packaged)
    create_glue_job(glue, "stedi-steps", documented_glue_arguments())
    dates = ingest_dates(starter_data)
    rival, raced = rival_writer(tmp_path / "rival", dates)
    runs = LocalGlue(glue, s3, moto_endpoint, glue_python, rival)
    steps = glue_steps("stedi-steps", PIPES_BUCKET, glue=runs, s3=s3)
    lake = f"s3://{LAKE_BUCKET}/glue"
    definitions = deployment(steps, str(starter_data), lake)
    defs = definitions(COLUMN_OPTIONS["default"])
    materializations = assert_the_default_column_ran(run_all_zones(defs, dates), raced, defs)

    # Each table ran as a Glue job run, into the lake on S3, read through the Glue catalog independently of what
    # the script reported:
    registered = {table["Name"]: table for table in glue.get_tables(DatabaseName=DATABASE)["TableList"]}
    catalog = LakeCatalog(lake).pyiceberg()
    expected = CONTRACT_COUNTS["default"]
    for table in ZONE_TABLES:
        metadata = materializations[table.name].metadata
        assert metadata["AWS Glue Job Name"].value == "stedi-steps"
        assert metadata["AWS Glue Job Run ID"].value.startswith("jr_")
        assert registered[table.name]["Parameters"]["table_type"] == "ICEBERG"
        stored = catalog.load_table((DATABASE, table.name))
        assert stored.location() == f"{lake}/{table.zone}/{table.name}"
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
    assert_lake_holds("default", str(starter_data), lake)
    assert_the_other_option_columns(definitions, str(starter_data), dates, lake)


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
    defs = deployment(steps, str(starter_data), lake, namespace)(COLUMN_OPTIONS["default"])
    result = run_all_zones(defs, ingest_dates(starter_data), CUSTOMER_LANDING)
    [log] = failed_step_runs(result, runs)
    assert "py3-none-any.whl/stedi_assets/" in log  # the driver ran the package from the wheel
    assert "PythonException" in log and "No module named 'stedi_assets'" in log  # a Python worker failed


def test_the_entry_script_imports_no_dagster():
    """Glue installs `dagster-pipes`, not Dagster: the script and everything it imports must do without."""
    blocked = "import sys; sys.modules['dagster'] = None; import stedi_assets.remote.entry"
    subprocess.run([sys.executable, "-c", blocked], check=True, capture_output=True, timeout=120)
