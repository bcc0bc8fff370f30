"""Every definition loads, and the graph has the shape the product promises."""

import os
import subprocess
import sys

import dagster as dg
import pytest

from stedi_assets.definitions import ZONE_TABLES, build_definitions
from stedi_assets.definitions import defs as load_definitions
from stedi_assets.resources import local_resources, resources_from_environment
from stedi_assets.resources.aws import glue_steps
from stedi_assets.resources.spark import WarmSparkResource
from stedi_assets.spark_config import SMALL_INPUT_JAVA_OPTIONS, SMALL_LANDING_BYTES, TINY_LANDING_BYTES
from stedi_assets.warm_spark import SERVERS_ENV
from stedi_assets_tests.conftest import REPO_ROOT

GROUPS = {
    "landing": {
        "customer_landing",
        "accelerometer_landing",
        "step_trainer_landing",
        "customer_quarantine",
        "accelerometer_quarantine",
        "step_trainer_quarantine",
    },
    "trusted": {"customer_trusted", "accelerometer_trusted", "step_trainer_trusted"},
    "curated": {"customer_curated", "machine_learning_curated", "training_set"},
}
DEFS = load_definitions()  # as `dagster dev` loads them, from the (test session's) environment


def test_definitions_load():
    dg.Definitions.validate_loadable(DEFS)
    assert len(DEFS.resolve_job_def("all_zones").asset_layer.selected_asset_keys) == 12  # 9 zone + 3 quarantine


def test_every_table_is_partitioned_by_ingest_date_in_its_group():
    graph = DEFS.resolve_asset_graph()
    groups: dict[str, set[str]] = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        groups.setdefault(node.group_name, set()).add(key.to_user_string())
        assert node.partitions_def.name == "ingest_date"
        assert node.description
        assert "dagster/column_schema" in node.metadata
    assert groups == GROUPS


def test_every_table_has_a_schema_check_and_zone_tables_count_checks():
    checks = {(k.asset_key.to_user_string(), k.name) for k in DEFS.resolve_asset_graph().asset_check_keys}
    for asset in set().union(*GROUPS.values()):
        assert (asset, "schema_valid") in checks
    for table in ZONE_TABLES:
        assert (table.name, "not_empty") in checks
    for landing in GROUPS["landing"] - {t for t in GROUPS["landing"] if t.endswith("quarantine")}:
        assert (landing, "lines_accounted_for") in checks
    assert {
        ("machine_learning_curated", "no_personal_columns"),
        ("machine_learning_curated", "cross_customer_pairs"),
        ("customer_trusted", "one_row_per_customer"),
        ("customer_curated", "one_row_per_customer"),
        ("accelerometer_trusted", "readings_distinct"),
    } <= checks


def test_a_profile_adds_an_expected_row_count_check_per_zone_table():
    with_profile = build_definitions(local_resources("landing", "lake"), "stedi-starter")
    checks = {k for k in with_profile.resolve_asset_graph().asset_check_keys if k.name == "expected_row_count"}
    assert {k.asset_key.to_user_string() for k in checks} == {t.name for t in ZONE_TABLES}


def test_assets_say_who_owns_them_where_their_code_is_and_where_columns_come_from():
    graph = DEFS.resolve_asset_graph()
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        assert "dagster/code_references" in node.metadata
    lineage = graph.get(dg.AssetKey("machine_learning_curated")).metadata["dagster/column_lineage"]
    assert [dep.asset_key.to_user_string() for dep in lineage.deps_by_column["x"]] == ["accelerometer_trusted"]
    assert "customer_curated" in {dep.asset_key.to_user_string() for dep in lineage.deps_by_column["customer_id"]}


def test_jobs_per_zone_and_a_schedule_users_can_turn_on():
    for zone, assets in GROUPS.items():
        job = DEFS.resolve_job_def(f"{zone}_zone")
        assert {key.to_user_string() for key in job.asset_layer.selected_asset_keys} == assets
    DEFS.resolve_schedule_def("nightly_all_zones")  # a schedule users can turn on


AWS_VARIABLES = {
    "STEDI_DEPLOYMENT": "aws",
    "STEDI_LANDING_ROOT": "s3://stedi-landing/raw",
    "STEDI_LAKE_ROOT": "s3://stedi-lake/lake",
    "STEDI_PIPES_BUCKET": "stedi-pipes",
    "STEDI_GLUE_JOB": "stedi-step",
    "STEDI_PSEUDONYM_KEY_SECRET": "stedi/pseudonym-key",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def test_dagster_dev_tunes_local_spark_to_the_landing_data_as_it_loads(monkeypatch, tmp_path):
    """Each run's process loads the definitions: tiny landing data gets interpreted expressions, small the
    small-input JVM without whole-stage code, large Java's and Spark's defaults, each set explicitly."""
    landing = tmp_path / "landing" / "customer" / "landing"
    landing.mkdir(parents=True)
    monkeypatch.setenv("STEDI_LANDING_ROOT", str(tmp_path / "landing"))
    monkeypatch.setenv("STEDI_LAKE_ROOT", str(tmp_path / "lake"))

    def tuning() -> tuple[bool, str, str]:
        config = resources_from_environment()["pyspark"].spark_config
        small_jvm = SMALL_INPUT_JAVA_OPTIONS in config.get("spark.driver.extraJavaOptions", "")
        return small_jvm, config["spark.sql.codegen.wholeStage"], config["spark.sql.codegen.factoryMode"]

    line = '{"email": "a@b.c"}\n'
    (landing / "customer-1.json").write_text(line)
    assert tuning() == (True, "false", "NO_CODEGEN")
    with open(landing / "customer-2.json", "wb") as file:
        file.truncate(TINY_LANDING_BYTES - len(line))  # sparse: its size without the disk space
    assert tuning() == (True, "false", "FALLBACK")
    with open(landing / "customer-2.json", "wb") as file:
        file.truncate(SMALL_LANDING_BYTES - len(line))
    assert tuning() == (False, "true", "FALLBACK")


def test_dagster_dev_with_warm_spark_starts_no_server_as_it_loads(monkeypatch, tmp_path):
    """The code server loads the definitions and never runs a step: the warm server waits for a run."""
    monkeypatch.setenv("STEDI_SPARK_MASTER", "warm")
    monkeypatch.setenv(SERVERS_ENV, str(tmp_path / "servers"))
    pyspark = resources_from_environment()["pyspark"]
    assert isinstance(pyspark, WarmSparkResource) and pyspark.spark_config["spark.master"] == "local[*]"
    assert build_definitions(resources_from_environment()).resolve_all_job_defs()
    assert not (tmp_path / "servers").exists()


def test_the_aws_deployment_loads_with_the_documented_variables(monkeypatch):
    for name, value in AWS_VARIABLES.items():
        monkeypatch.setenv(name, value)
    resources = resources_from_environment()
    assert (
        resources["lake"].catalog.spark_catalog_config()["spark.sql.catalog.lake.catalog-impl"].endswith("GlueCatalog")
    )
    # The jobs read the key from the secret: the key itself is not in the options sent through pipes.
    assert resources["options"].pseudonym_key is None
    assert resources["options"].pseudonym_key_secret == "stedi/pseudonym-key"
    aws_defs = build_definitions(resources)
    dg.Definitions.validate_loadable(aws_defs)


@pytest.mark.parametrize(
    ("variable", "value", "message"),
    [
        ("STEDI_LAKE_ROOT", "data/lake", "needs the lake on S3"),
        ("STEDI_GLUE_JOB", "", "STEDI_GLUE_JOB is not set"),
        ("STEDI_AWS_ENGINE", "lambda", "must be glue or emr-serverless"),
        ("STEDI_PSEUDONYM_KEY_SECRET", "", "no pseudonym key"),
    ],
)
def test_the_aws_deployment_says_what_is_missing(monkeypatch, variable, value, message):
    for name, setting in {**AWS_VARIABLES, variable: value}.items():
        monkeypatch.setenv(name, setting)
    with pytest.raises(ValueError, match=message):
        resources_from_environment()


def test_expected_counts_need_the_local_deployment():
    resources = {
        **local_resources("landing", "lake"),
        "zone_steps": glue_steps("job", "bucket", glue=object(), s3=object()),
    }
    del resources["pyspark"]
    with pytest.raises(ValueError, match="local deployment"):
        build_definitions(resources, "stedi-starter")


def test_missing_starter_data_fails_under_ci_and_is_skipped_elsewhere(tmp_path):
    """The contract tests need the public starter data: CI must not pass by skipping them."""
    test = "stedi_assets_tests/test_reference.py::test_starter_data_counts[default]"
    env = {**os.environ, "STEDI_STARTER_DATA": str(tmp_path / "missing")}
    outcomes = {}
    for ci in ("true", ""):
        command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", test]
        result = subprocess.run(command, env={**env, "CI": ci}, cwd=REPO_ROOT, capture_output=True, text=True)
        outcomes[ci] = (result.returncode, result.stdout.strip().splitlines()[-1])
    assert outcomes["true"][0] == 1 and "1 error" in outcomes["true"][1]
    assert outcomes[""][0] == 0 and "1 skipped" in outcomes[""][1]


def test_the_cli_imports_no_definitions_built_from_the_shell(monkeypatch):
    """Stray STEDI_* variables configure `dagster dev`, not `stedi materialize`: importing what the CLI runs
    reads none of them (the CLI builds the definitions from its own flags)."""
    stray = {"STEDI_ML_JOIN": "nearest", "STEDI_DEPLOYMENT": "mars", "STEDI_LAKE_ROOT": "s3://nowhere"}
    script = "import stedi_assets.materialize, stedi_assets.definitions"
    result = subprocess.run([sys.executable, "-c", script], env={**os.environ, **stray}, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    # `dagster dev` loads the definitions from them, and says what is wrong in one line.
    for name, value in stray.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValueError, match="STEDI_DEPLOYMENT must be local or aws, not 'mars'"):
        load_definitions()
