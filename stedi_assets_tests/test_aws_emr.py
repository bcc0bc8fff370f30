"""The AWS deployment on EMR Serverless, offline: every step as a job run of the packaged entry script on the
application docs/aws.md describes, through dagster-aws Pipes on moto's S3. What the Glue and EMR Serverless
tests share is in `aws_jobs.py`; the stand-ins in `aws_standins.py`.
"""

import json
import subprocess
import tarfile

import pytest

from stedi_assets.lake.catalog import LakeCatalog
from stedi_assets.remote.package import EMR_ARCHIVE
from stedi_assets.resources.aws import emr_serverless_steps
from stedi_assets_tests.aws_jobs import (
    CUSTOMER_LANDING,
    ENTRY_POINT,
    LAKE_BUCKET,
    PIPES_BUCKET,
    assert_lake_holds,
    assert_the_default_column_ran,
    assert_the_other_option_columns,
    deployment,
    documented_emr_configuration,
    failed_step_runs,
    ingest_dates,
    rival_writer,
    run_all_zones,
    ship,
    spark_3_5,
)
from stedi_assets_tests.aws_standins import EMR_RELEASE, LocalEmrServerless
from stedi_assets_tests.conftest import COLUMN_OPTIONS

pytest_plugins = ["stedi_assets_tests.aws", "stedi_assets_tests.aws_jobs"]

pytestmark = pytest.mark.slow


@spark_3_5
def test_starter_data_through_emr_serverless_gives_the_contract_counts_in_every_option_column(
    starter_data, shipped, packaged_for_emr, moto_client, moto_endpoint, tmp_path
):
    """Every step as an EMR Serverless job run of the same entry script, where the pipes bootstrap comes as
    driver environment variables, on the Python of the archive `stedi aws package --emr` builds, given to the
    application as docs/aws.md says; then the contract's other option columns. The first run of
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
    definitions = emr_deployment(emr_client, runs, str(starter_data), lake, namespace)
    defs = definitions(COLUMN_OPTIONS["default"])
    assert_the_default_column_ran(run_all_zones(defs, dates), raced, defs)
    stored = LakeCatalog(lake, namespace).pyiceberg().load_table((namespace, "customer_trusted"))
    assert stored.location() == f"{lake}/trusted/customer_trusted"
    assert_lake_holds("default", str(starter_data), lake, namespace)
    assert_the_other_option_columns(definitions, str(starter_data), dates, lake, namespace)


def emr_deployment(emr, runs: LocalEmrServerless, landing: str, lake: str, namespace: str):
    """The AWS deployment (`deployment`) on an EMR Serverless application whose job runs `runs` runs."""
    application = emr.create_application(name="stedi", releaseLabel=EMR_RELEASE, type="SPARK")["applicationId"]
    steps = emr_serverless_steps(
        application,
        "arn:aws:iam::123456789012:role/stedi-emr",
        ENTRY_POINT,
        PIPES_BUCKET,
        emr_serverless=runs,
        s3=runs._s3,
    )
    return deployment(steps, landing, lake, namespace)


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
    bare = emr_deployment(emr_client, runs, str(starter_data), f"s3://{LAKE_BUCKET}/emr-bare", "stedi_emr_bare")
    defs = bare(COLUMN_OPTIONS["default"])
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
