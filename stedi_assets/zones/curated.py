"""Curated zone assets: the tables data scientists train on."""

import dagster as dg
from dagster_pyspark import PySparkResource
from pyspark.sql import functions as F

from stedi_assets.checks.counts import count_check
from stedi_assets.resources.lake import LocalLake
from stedi_assets.resources.settings import StediOptions
from stedi_assets.schemas.tables import (
    ACCELEROMETER_TRUSTED,
    CUSTOMER_CURATED,
    CUSTOMER_TRUSTED,
    MACHINE_LEARNING_CURATED,
    PERSONAL_COLUMNS,
    STEP_TRAINER_TRUSTED,
)
from stedi_assets.transforms import curated
from stedi_assets.zones.publish import (
    Published,
    all_partitions_of,
    materialize_result,
    not_empty_result,
    publish,
    schema_result,
)
from stedi_assets.zones.trusted import one_row_per_customer, zone_asset


@zone_asset(
    CUSTOMER_CURATED,
    [dg.AssetDep(CUSTOMER_TRUSTED.name), *all_partitions_of(ACCELEROMETER_TRUSTED)],
    "one_row_per_customer",
)
def customer_curated(context: dg.AssetExecutionContext, pyspark: PySparkResource, lake: LocalLake):
    spark = pyspark.spark_session
    rows = curated.customer_curated(lake.read(spark, CUSTOMER_TRUSTED), lake.read(spark, ACCELEROMETER_TRUSTED))
    published = publish(lake, CUSTOMER_CURATED, rows, context.partition_keys)
    checks = [schema_result(published), not_empty_result(published), one_row_per_customer(lake, published)]
    return materialize_result(published, checks)


def cross_customer_pairs(lake: LocalLake, published: Published, ml_join: str) -> dg.AssetCheckResult:
    stored = lake.read(published.rows.sparkSession, published.table)
    pairs = stored.where(F.col("customer_id") != F.col("accelerometer_customer_id")).count()
    severity = dg.AssetCheckSeverity.ERROR if ml_join == "customer" else dg.AssetCheckSeverity.WARN
    return count_check(
        published.asset_key, "cross_customer_pairs", pairs == 0, severity, cross_customer_pairs=pairs, ml_join=ml_join
    )


def no_personal_columns(published: Published) -> dg.AssetCheckResult:
    personal = sorted(PERSONAL_COLUMNS.intersection(published.rows.columns))
    return count_check(published.asset_key, "no_personal_columns", not personal, personal_columns=personal)


@zone_asset(
    MACHINE_LEARNING_CURATED,
    [dg.AssetDep(STEP_TRAINER_TRUSTED.name), *all_partitions_of(ACCELEROMETER_TRUSTED, CUSTOMER_CURATED)],
    "no_personal_columns",
    "cross_customer_pairs",
)
def machine_learning_curated(
    context: dg.AssetExecutionContext, pyspark: PySparkResource, lake: LocalLake, options: StediOptions
):
    spark = pyspark.spark_session
    rows = curated.machine_learning_curated(
        lake.read(spark, STEP_TRAINER_TRUSTED),
        lake.read(spark, ACCELEROMETER_TRUSTED),
        lake.read(spark, CUSTOMER_CURATED),
        options.ml_join,
        options.pseudonym_key,
    )
    published = publish(lake, MACHINE_LEARNING_CURATED, rows, context.partition_keys)
    checks = [
        schema_result(published),
        not_empty_result(published),
        no_personal_columns(published),
        cross_customer_pairs(lake, published, options.ml_join),
    ]
    return materialize_result(published, checks)
