"""The local deployment runs each step in the Dagster process, on the `pyspark` resource's session."""

import dagster as dg

from stedi_assets.partitions import ingest_date_partitions
from stedi_assets.steps import StepInputs
from stedi_assets.steps.registry import STEPS
from stedi_assets.zones.asset_specs import dagster_results


class LocalSteps:
    required_resource_keys = {"pyspark", "lake", "landing_root", "options"}

    def run(self, context: dg.AssetExecutionContext, step: str):
        resources = context.resources
        inputs = StepInputs(
            resources.pyspark.spark_session,
            resources.lake,
            resources.landing_root,
            resources.options,
            context.partition_keys,
            context.instance.get_dynamic_partitions(ingest_date_partitions.name),
        )
        yield from dagster_results(STEPS[step](inputs))
