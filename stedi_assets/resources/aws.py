"""The AWS deployment: each step runs remotely, as `stedi_assets/remote/entry.py`, through dagster-aws
Pipes on AWS Glue or EMR Serverless. The job's Iceberg commits register the tables in the lake's catalog
(the Glue Data Catalog for an `s3://` lake) themselves.

The Dagster process starts no Spark. What the remote script reports (materialization metadata and check
results) arrives through the pipes bucket, and blocking checks stop downstream assets as in a local run.
"""

import copy
import os
from collections.abc import Callable
from dataclasses import asdict

import boto3
import dagster as dg
from dagster_aws.pipes import (
    PipesEMRServerlessClient,
    PipesGlueClient,
    PipesS3ContextInjector,
    PipesS3MessageReader,
)

from stedi_assets.lake.conflicts import race_in
from stedi_assets.partitions import ingest_date_partitions


class PipesSteps:
    """Runs a step as one remote job run; the step, dates, roots and options travel as pipes extras."""

    required_resource_keys = {"lake", "landing_root", "options"}

    def __init__(self, new_client: Callable[[], dg.PipesClient], start_job_run_params: dict):
        self.new_client = new_client  # one client per run: a message reader counts the chunks it has read
        self.start_job_run_params = start_job_run_params

    def run(self, context: dg.AssetExecutionContext, step: str):
        resources = context.resources
        extras = {
            "step": step,
            "partition_keys": context.partition_keys,
            "registered_partition_keys": context.instance.get_dynamic_partitions(ingest_date_partitions.name),
            "lake_root": resources.lake.root,
            "namespace": resources.lake.namespace,
            "landing_root": resources.landing_root.root,
            "options": asdict(resources.options),
        }
        invocation = self.new_client().run(
            context=context, start_job_run_params=copy.deepcopy(self.start_job_run_params), extras=extras
        )
        if lost := race_in(invocation.get_custom_messages()):
            raise lost  # retried as a local step's lost race is (`assets.py`)
        # No implicit materializations: a table the script did not report fails the step.
        yield from invocation.get_results(implicit_materializations=False)


def pipes_s3(bucket: str, s3) -> dict:
    """Context in, messages out, through one private bucket (each job reads the pseudonym key from its secret)."""
    return {
        "context_injector": PipesS3ContextInjector(bucket=bucket, client=s3),
        "message_reader": PipesS3MessageReader(bucket=bucket, client=s3, interval=2),
    }


def glue_steps(job_name: str, pipes_bucket: str, glue=None, s3=None) -> PipesSteps:
    """Steps as runs of one Glue job whose script is `stedi_assets/remote/entry.py`."""
    glue, s3 = glue or boto3.client("glue"), s3 or boto3.client("s3")
    return PipesSteps(lambda: PipesGlueClient(client=glue, **pipes_s3(pipes_bucket, s3)), {"JobName": job_name})


def emr_serverless_steps(
    application_id: str,
    execution_role_arn: str,
    entry_point: str,
    pipes_bucket: str,
    emr_serverless=None,
    s3=None,
) -> PipesSteps:
    """Steps as EMR Serverless job runs of the entry script at `entry_point` (an s3:// URI)."""
    emr_serverless, s3 = emr_serverless or boto3.client("emr-serverless"), s3 or boto3.client("s3")
    params = {
        "applicationId": application_id,
        "executionRoleArn": execution_role_arn,
        "jobDriver": {"sparkSubmit": {"entryPoint": entry_point}},
    }
    return PipesSteps(
        lambda: PipesEMRServerlessClient(client=emr_serverless, **pipes_s3(pipes_bucket, s3)),
        params,
    )


def _required(name: str) -> str:
    value = os.environ.get(name)
    if not value:
        raise ValueError(f"{name} is not set: the AWS deployment needs it (see docs/aws.md)")
    return value


def steps_from_environment() -> PipesSteps:
    """STEDI_AWS_ENGINE=glue (default) or emr-serverless, and that engine's STEDI_* settings."""
    engine = os.environ.get("STEDI_AWS_ENGINE", "glue")
    bucket = _required("STEDI_PIPES_BUCKET")
    if engine == "glue":
        return glue_steps(_required("STEDI_GLUE_JOB"), bucket)
    if engine == "emr-serverless":
        return emr_serverless_steps(
            _required("STEDI_EMR_APPLICATION_ID"),
            _required("STEDI_EMR_EXECUTION_ROLE_ARN"),
            _required("STEDI_EMR_ENTRY_POINT"),
            bucket,
        )
    raise ValueError(f"STEDI_AWS_ENGINE must be glue or emr-serverless, not {engine!r}")
