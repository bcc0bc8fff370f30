"""The AWS deployment, offline: the assets run as Glue job runs of the packaged entry script, through
dagster-aws Pipes on moto's S3, and register their tables in moto's Glue Data Catalog.

The Glue stand-in runs the script in a subprocess on local Spark (as Glue would on its own), with the
lake in a local folder: Spark here has no S3 connector, so the lake itself stays off S3.
"""

import subprocess
import sys
from importlib import resources

import dagster as dg

from stedi_assets.definitions import build_definitions
from stedi_assets.jobs import partition_range_tags
from stedi_assets.landing_files import SOURCES, list_landing_files
from stedi_assets.partitions import ingest_date_partitions
from stedi_assets.resources import shared_resources
from stedi_assets.resources.aws import glue_steps
from stedi_assets.schemas.tables import LANDING_TABLES, ZONE_TABLES
from stedi_assets_tests.conftest import CONTRACT_COUNTS
from stedi_assets_tests.glue_standin import LocalGlue

pytest_plugins = ["stedi_assets_tests.aws"]

JOB, PIPES_BUCKET, SCRIPTS_BUCKET, DATABASE = "stedi-steps", "stedi-pipes", "stedi-glue-scripts", "stedi"


def test_starter_data_through_glue_gives_the_contract_counts_checks_and_catalog(
    starter_data, moto_client, moto_endpoint, tmp_path, spark
):
    s3, glue = moto_client("s3"), moto_client("glue")
    for bucket in (PIPES_BUCKET, SCRIPTS_BUCKET):
        s3.create_bucket(Bucket=bucket)
    # Shipping the job: the entry script to S3, and a Glue job pointing at it.
    script = resources.files("stedi_assets.remote") / "entry.py"
    s3.put_object(Bucket=SCRIPTS_BUCKET, Key="stedi/entry.py", Body=script.read_bytes())
    glue.create_job(
        Name=JOB,
        Role="arn:aws:iam::123456789012:role/stedi-glue",
        Command={"Name": "glueetl", "ScriptLocation": f"s3://{SCRIPTS_BUCKET}/stedi/entry.py", "PythonVersion": "3"},
        GlueVersion="5.0",
    )
    standin = LocalGlue(glue, s3, moto_endpoint)
    lake = tmp_path / "lake"
    defs = build_definitions(
        {
            **shared_resources(str(starter_data), str(lake)),
            "zone_steps": glue_steps(JOB, PIPES_BUCKET, DATABASE, glue=standin, s3=s3),
        }
    )
    dates = sorted({f.ingest_date for source in SOURCES for f in list_landing_files(str(starter_data), source)})
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(ingest_date_partitions.name, dates)
        result = defs.resolve_job_def("all_zones").execute_in_process(
            instance=instance, tags=partition_range_tags(dates), raise_on_error=False
        )
    assert result.success

    materializations = {
        e.asset_key.to_user_string(): e.materialization for e in result.get_asset_materialization_events()
    }
    expected = CONTRACT_COUNTS["default"]
    for table in ZONE_TABLES:
        metadata = materializations[table.name].metadata
        assert metadata["table_rows"].value == expected[table.name], table.name
        assert metadata["AWS Glue Job Name"].value == JOB  # it ran as a Glue job run
    # The lake itself, read independently of what the script reported:
    for table in ZONE_TABLES:
        stored = spark.read.parquet(str(lake / table.zone / table.name))
        assert stored.count() == expected[table.name], table.name

    # Every check the assets declare came back from the remote script, and passed.
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e for e in result.get_asset_check_evaluations()}
    declared = {(k.asset_key.to_user_string(), k.name) for k in defs.resolve_asset_graph().asset_check_keys}
    assert set(evaluations) == declared
    assert all(e.passed for e in evaluations.values()), [k for k, e in evaluations.items() if not e.passed]

    # The catalog: every zone table with its partitions, located in the lake.
    catalog = {t["Name"]: t for t in glue.get_tables(DatabaseName=DATABASE)["TableList"]}
    assert {t.name for t in ZONE_TABLES} <= set(catalog)
    for table in ZONE_TABLES:
        partitions = glue.get_partitions(DatabaseName=DATABASE, TableName=table.name)["Partitions"]
        assert sorted(p["Values"][0] for p in partitions) == dates
        assert catalog[table.name]["StorageDescriptor"]["Location"] == f"{lake}/{table.zone}/{table.name}/"
    assert [c["Name"] for c in catalog["customer_landing"]["StorageDescriptor"]["Columns"]] == list(
        LANDING_TABLES["customer"].column_names
    )


def test_the_entry_script_imports_no_dagster():
    """Glue installs `dagster-pipes`, not Dagster: the script and everything it imports must do without."""
    blocked = "import sys; sys.modules['dagster'] = None; import stedi_assets.remote.entry"
    subprocess.run([sys.executable, "-c", blocked], check=True, capture_output=True, timeout=120)
