"""The script a Glue job or an EMR Serverless job run runs: one build of the asset graph, on the
cluster's Spark, reported back to Dagster through dagster-pipes.

It imports no Dagster (only `dagster-pipes`), so the job needs the `stedi_assets` package without its
dependencies plus `dagster-pipes`, `pandera` and `pyiceberg` (see docs/aws.md). Which build (the `step`
extra: the Dagster step it is the work of), which
ingest dates, where the lake and landing files are and the options all come in the pipes context's
extras, so one job definition serves every asset.
"""

import logging
from dataclasses import replace

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

from stedi_assets.builds.build import BuildInputs, run_build
from stedi_assets.builds.outcome import TableOutcome, typed_metadata
from stedi_assets.lake.conflicts import ConcurrentWrite, race_report
from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.lake.jars import ICEBERG_EXTENSIONS
from stedi_assets.landing_files import LandingRoot
from stedi_assets.options import StediOptions
from stedi_assets.pseudonym_key import secret_pseudonym_key
from stedi_assets.spark_config import SPARK_SEMANTICS
from stedi_assets.zones import BUILDS


def report(pipes: PipesContext, outcome: TableOutcome) -> None:
    """The materialization first, then its checks, as a local run records them: Dagster ties a check
    result to the asset's latest materialization."""
    pipes.report_asset_materialization(typed_metadata(outcome.metadata), asset_key=outcome.table)
    for check in outcome.checks:
        pipes.report_asset_check(
            check.name, check.passed, check.severity, typed_metadata(check.metadata), asset_key=outcome.table
        )


def with_key(options: StediOptions) -> StediOptions:
    """The options with the pseudonym key, read here from the secret they name (it is not in the context)."""
    if options.pseudonym_key_secret:
        key = secret_pseudonym_key(options.pseudonym_key_secret, options.pseudonym_key_secret_field)
        return replace(options, pseudonym_key=key)
    return options


# Iceberg's vectorized Parquet reads off: with Glue 5.0's Iceberg (1.7.1) on Spark 3.5 and Java 17, freeing their
# Arrow buffers (Iceberg's shaded Netty allocator) crashed the JVM (SIGSEGV) in the offline Glue stand-in, while
# 1.11.0 ran the same steps. The tables a step reads are small; row-by-row reads cost little.
ROW_READS = {"spark.sql.iceberg.vectorization.enabled": "false"}


def spark_session(step: str) -> SparkSession:
    """The job's Spark, with the Iceberg the service provides (Glue: `--datalake-formats iceberg`; EMR: the
    bundled runtime jar): nothing is downloaded at run time."""
    builder = SparkSession.builder.appName(f"stedi-{step}")
    for key, value in {**SPARK_SEMANTICS, **ICEBERG_EXTENSIONS, **ROW_READS}.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


def main() -> None:
    s3 = boto3.client("s3")
    # Glue hands the bootstrap parameters over as job arguments, EMR Serverless as environment variables.
    params = PipesCliArgsParamsLoader()
    params = params if params.is_dagster_pipes_process() else PipesEnvVarParamsLoader()
    with open_dagster_pipes(
        context_loader=PipesS3ContextLoader(s3), message_writer=PipesS3MessageWriter(s3), params_loader=params
    ) as pipes:
        steps_log = logging.getLogger("stedi_assets")  # the builds' own log lines, shown in Dagster's run log
        steps_log.setLevel(logging.INFO)
        for handler in pipes.log.handlers:
            steps_log.addHandler(handler)
        extras = pipes.extras
        inputs = BuildInputs(
            spark_session(extras["step"]),
            Lake(extras["lake_root"], extras["namespace"]),
            LandingRoot(extras["landing_root"]),
            with_key(StediOptions(**extras["options"])),
            extras["partition_keys"],
            extras["registered_partition_keys"],
        )
        try:
            outcomes = run_build(BUILDS[extras["step"]], inputs)
        except ConcurrentWrite as error:
            # Told through Pipes, and the job run ends without failing: dagster-aws's clients raise on a failed
            # run without handing back its messages, and the step is retried on the Dagster side (`aws.py`).
            pipes.log.warning(f"This step's write lost a race; Dagster computes the step again: {error}")
            pipes.report_custom_message(race_report(error))
            return
        for outcome in outcomes:
            report(pipes, outcome)


if __name__ == "__main__":
    main()
