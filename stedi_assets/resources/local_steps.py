"""The local deployment runs each build in the Dagster process, on the `pyspark` resource's session."""

import dagster as dg

from stedi_assets.asset_metadata import dagster_results
from stedi_assets.builds.build import BuildInputs, run_build
from stedi_assets.partitions import ingest_date_partitions
from stedi_assets.zones import BUILDS


class LocalSteps:
    required_resource_keys = {"pyspark", "lake", "landing_root", "options"}

    def run(self, context: dg.AssetExecutionContext, build: str):
        resources = context.resources
        inputs = BuildInputs(
            resources.pyspark.spark_session,
            resources.lake,
            resources.landing_root,
            resources.options,
            context.partition_keys,
            context.instance.get_dynamic_partitions(ingest_date_partitions.name),
        )
        yield from dagster_results(run_build(BUILDS[build], inputs))
