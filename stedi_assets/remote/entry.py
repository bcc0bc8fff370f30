"""The script a Glue job or an EMR Serverless job run runs: one step of the asset graph, on the
cluster's Spark, reported back to Dagster through dagster-pipes.

It imports no Dagster (only `dagster-pipes`), so the job needs the `stedi_assets` package without its
dependencies plus `dagster-pipes` and `pandera[pyspark]` (see README: Running on AWS). Which step, which
ingest dates, where the lake and landing files are and the options all come in the pipes context's
extras, so one job definition serves every asset.
"""

import boto3
from dagster_pipes import (
    PipesCliArgsParamsLoader,
    PipesContext,
    PipesEnvVarParamsLoader,
    PipesS3ContextLoader,
    PipesS3MessageWriter,
    open_dagster_pipes,
)
from pyspark.sql import SparkSession

from stedi_assets.checks.outcome import Markdown, TableOutcome
from stedi_assets.lake import LocalLake
from stedi_assets.settings import LandingRoot, StediOptions
from stedi_assets.steps import StepInputs
from stedi_assets.steps.registry import STEPS


def pipes_metadata(value) -> dict:
    """A metadata value in the pipes protocol's typed form (what `MaterializeResult` infers locally)."""
    if isinstance(value, Markdown):
        return {"raw_value": str(value), "type": "md"}
    if isinstance(value, (dict, list)):
        return {"raw_value": value, "type": "json"}
    types = {bool: "bool", int: "int", float: "float", str: "text", type(None): "null"}
    return {"raw_value": value, "type": types[type(value)]}


def report(pipes: PipesContext, outcome: TableOutcome) -> None:
    for check in outcome.checks:
        metadata = {name: pipes_metadata(value) for name, value in check.metadata.items()}
        pipes.report_asset_check(check.name, check.passed, check.severity, metadata, asset_key=outcome.table)
    metadata = {name: pipes_metadata(value) for name, value in outcome.metadata.items()}
    pipes.report_asset_materialization(metadata, asset_key=outcome.table)


def main() -> None:
    s3 = boto3.client("s3")
    # Glue hands the bootstrap parameters over as job arguments, EMR Serverless as environment variables.
    params = PipesCliArgsParamsLoader()
    params = params if params.is_dagster_pipes_process() else PipesEnvVarParamsLoader()
    with open_dagster_pipes(
        context_loader=PipesS3ContextLoader(s3), message_writer=PipesS3MessageWriter(s3), params_loader=params
    ) as pipes:
        extras = pipes.extras
        inputs = StepInputs(
            SparkSession.builder.appName(f"stedi-{extras['step']}").getOrCreate(),
            LocalLake(extras["lake_root"]),
            LandingRoot(extras["landing_root"]),
            StediOptions(**extras["options"]),
            extras["partition_keys"],
        )
        for outcome in STEPS[extras["step"]](inputs):
            report(pipes, outcome)


if __name__ == "__main__":
    main()
