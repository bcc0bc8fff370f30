"""The work behind each asset, as plain functions of Spark and the lake: no Dagster.

A local run calls a step in the Dagster process; a Glue or EMR job calls the
same step from `stedi_assets/remote/entry.py`. Either way the step returns
`TableOutcome`s, which reach Dagster as materializations and check results.
"""

from dataclasses import dataclass

from pyspark.sql import SparkSession

from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.landing_files import LandingRoot
from stedi_assets.options import StediOptions


@dataclass(frozen=True)
class StepInputs:
    """`partition_keys`: the ingest dates the run targets. `registered_partition_keys`: every ingest date; the
    trusted and curated steps recompute any of them whose inputs changed (`run_targets`)."""

    spark: SparkSession
    lake: Lake
    landing_root: LandingRoot
    options: StediOptions
    partition_keys: list[str]
    registered_partition_keys: list[str]
