"""End to end, as a user would: `stedi materialize` into a DAGSTER_HOME, then read it back in dagster-webserver.

The webserver loads `workspace.yaml` from the repo root; everything is checked through its GraphQL API.
The materialized sample (conftest's `materialized_sample`) is shared with `test_browser.py`, which adds no runs.
"""

import pytest

from stedi_assets_tests.lake_contents import table_rows
from stedi_assets_tests.servers import dagster_server, tool

pytestmark = pytest.mark.slow

GROUPS = {
    "customer_landing": "landing",
    "accelerometer_landing": "landing",
    "step_trainer_landing": "landing",
    "customer_quarantine": "landing",
    "accelerometer_quarantine": "landing",
    "step_trainer_quarantine": "landing",
    "customer_trusted": "trusted",
    "accelerometer_trusted": "trusted",
    "step_trainer_trusted": "trusted",
    "customer_curated": "curated",
    "machine_learning_curated": "curated",
    "training_set": "curated",
}
LANDING_CHECKS = {"not_empty", "lines_accounted_for", "delivery_quality"}
COUNT_CHECKS = {
    "customer_landing": LANDING_CHECKS,
    "accelerometer_landing": LANDING_CHECKS,
    "step_trainer_landing": LANDING_CHECKS,
    "customer_trusted": {"not_empty", "one_row_per_customer"},
    "accelerometer_trusted": {"not_empty", "readings_distinct"},
    "step_trainer_trusted": {"not_empty", "readings_distinct"},
    "customer_curated": {"not_empty", "one_row_per_customer"},
    "machine_learning_curated": {"not_empty", "no_personal_columns", "cross_customer_pairs"},
    "training_set": {"not_empty", "no_personal_columns", "one_split_per_customer", "split_balance"},
}

ASSETS_QUERY = """{ assetNodes { assetKey { path } groupName isPartitioned assetChecksOrError { __typename
  ... on AssetChecks { checks { name
    executionForLatestMaterialization { runId status evaluation { success } } } } } } }"""
CHECK_EXECUTIONS_QUERY = """query ($assetKey: AssetKeyInput!, $checkName: String!) {
  assetCheckExecutions(assetKey: $assetKey, checkName: $checkName, limit: 1) { runId status evaluation { success } }
}"""
RUNS_QUERY = """{ runsOrError(limit: 20) { __typename
  ... on Runs { results { runId jobName status } } ... on PythonError { message } } }"""


@pytest.fixture(scope="module")
def graphql(materialized_sample, tmp_path_factory):
    """dagster-webserver on the session's materialized sample (the code location loaded); yields a GraphQL
    helper; always stops the server."""
    _, env = materialized_sample
    log = tmp_path_factory.mktemp("webserver") / "webserver.log"
    with dagster_server([tool("dagster-webserver")], env, log) as server:
        yield server.query


@pytest.fixture(scope="module")
def runs(graphql):
    """Every run the webserver lists (newest first)."""
    runs = graphql(RUNS_QUERY)["runsOrError"]
    assert runs["__typename"] == "Runs", runs
    return runs["results"]


@pytest.fixture(scope="module")
def cli_run_id(runs):
    """The one run the CLI recorded in the fresh DAGSTER_HOME."""
    assert len(runs) == 1, runs
    return runs[0]["runId"]


@pytest.fixture(scope="module")
def asset_nodes(graphql):
    """Asset key -> asset node as the webserver reports it."""
    return {node["assetKey"]["path"][-1]: node for node in graphql(ASSETS_QUERY)["assetNodes"]}


def _checks(node: dict) -> dict:
    checks = node["assetChecksOrError"]
    assert checks["__typename"] == "AssetChecks", checks
    return {check["name"]: check for check in checks["checks"]}


def test_assets_groups_and_partitions(asset_nodes):
    """The twelve assets, each in its zone's group, all partitioned by ingest date."""
    assert {key: node["groupName"] for key, node in asset_nodes.items()} == GROUPS
    assert all(node["isPartitioned"] for node in asset_nodes.values())


def test_every_asset_declares_its_checks(asset_nodes):
    """`schema_valid` everywhere; the zone tables also have their count checks."""
    for key, node in asset_nodes.items():
        expected = {"schema_valid"} | COUNT_CHECKS.get(key, set())
        assert expected <= set(_checks(node)), (key, sorted(_checks(node)))


def test_every_check_passed_in_the_cli_run(graphql, asset_nodes, cli_run_id):
    """Each check's execution for the latest materialization, and its newest execution overall
    (`assetCheckExecutions`), belong to the CLI's run and passed."""
    for key, node in asset_nodes.items():
        for name, check in _checks(node).items():
            variables = {"assetKey": {"path": [key]}, "checkName": name}
            newest = graphql(CHECK_EXECUTIONS_QUERY, variables)["assetCheckExecutions"]
            for execution in (check["executionForLatestMaterialization"], newest[0] if newest else None):
                assert execution is not None, f"{key}:{name} has no execution"
                outcome = (execution["runId"], execution["status"], execution["evaluation"]["success"])
                assert outcome == (cli_run_id, "SUCCEEDED", True), (key, name, execution)


def test_cli_run_listed_as_success(runs, cli_run_id):
    """The CLI's run shows in the runs list: the `all_zones` job, status SUCCESS."""
    assert [(r["runId"], r["jobName"], r["status"]) for r in runs] == [(cli_run_id, "all_zones", "SUCCESS")]


ROW_COUNT_QUERY = """{ assetNodes { assetKey { path } assetMaterializations(limit: 1) { partition
  metadataEntries { label ... on IntMetadataEntry { intValue } } } } }"""


def test_the_asset_pages_row_count_is_the_tables(graphql, materialized_sample):
    """The latest materialization's `dagster/row_count` (the asset page's "Row count") is the whole table's rows,
    as pyiceberg reads them; each partition's own rows are `dagster/partition_row_count`."""
    folder, _ = materialized_sample
    for node in graphql(ROW_COUNT_QUERY)["assetNodes"]:
        table = node["assetKey"]["path"][-1]
        (latest,) = node["assetMaterializations"]
        entries = {entry["label"]: entry.get("intValue") for entry in latest["metadataEntries"]}
        assert entries["dagster/row_count"] == len(table_rows(folder / "lake", table)), table
        partition_rows = [
            row for row in table_rows(folder / "lake", table) if row["ingest_date"] == latest["partition"]
        ]
        assert entries["dagster/partition_row_count"] == len(partition_rows), table
