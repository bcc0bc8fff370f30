"""Trusted zone assets: only the data of customers who consent to research."""

import dagster as dg
from dagster_pyspark import PySparkResource
from pyspark.sql import functions as F

from stedi_assets.checks.counts import count_check
from stedi_assets.partitions import ingest_date_partitions, single_run
from stedi_assets.resources.lake import LocalLake
from stedi_assets.resources.settings import StediOptions
from stedi_assets.schemas.tables import (
    ACCELEROMETER_TRUSTED,
    CUSTOMER_CURATED,
    CUSTOMER_TRUSTED,
    LANDING_TABLES,
    STEP_TRAINER_TRUSTED,
    TableSpec,
)
from stedi_assets.transforms import trusted
from stedi_assets.zones.publish import (
    Published,
    all_partitions_of,
    asset_spec,
    check_specs,
    materialize_result,
    not_empty_result,
    publish,
    schema_result,
)


def zone_asset(table: TableSpec, deps: list[dg.AssetDep], *count_checks: str):
    """The decorator every trusted and curated asset shares: one asset per table, a range of dates per run."""
    spec = asset_spec(table, table.zone, deps)
    return dg.asset(
        name=spec.key.path[-1],
        group_name=spec.group_name,
        description=spec.description,
        deps=spec.deps,
        owners=spec.owners,
        kinds=spec.kinds,
        metadata=spec.metadata,
        partitions_def=ingest_date_partitions,
        backfill_policy=single_run,
        check_specs=check_specs(table, "not_empty", *count_checks),
    )


def one_row_per_customer(lake: LocalLake, published: Published) -> dg.AssetCheckResult:
    stored = lake.read(published.rows.sparkSession, published.table)
    customers = stored.select(trusted.customer_key(F.col("email"))).distinct().count()
    return count_check(
        published.asset_key,
        "one_row_per_customer",
        customers == published.table_rows,
        customers=customers,
        table_rows=published.table_rows,
    )


def not_more_than_landing(lake: LocalLake, published: Published, landing: TableSpec) -> dg.AssetCheckResult:
    stored_landing = lake.read(published.rows.sparkSession, landing)
    distinct_landing = stored_landing.select(*published.table.column_names).distinct().count()
    return count_check(
        published.asset_key,
        "not_more_than_landing",
        published.table_rows <= distinct_landing,
        table_rows=published.table_rows,
        distinct_landing_records=distinct_landing,
    )


@zone_asset(CUSTOMER_TRUSTED, all_partitions_of(LANDING_TABLES["customer"]), "one_row_per_customer")
def customer_trusted(context: dg.AssetExecutionContext, pyspark: PySparkResource, lake: LocalLake):
    customer_landing = lake.read(pyspark.spark_session, LANDING_TABLES["customer"])
    published = publish(lake, CUSTOMER_TRUSTED, trusted.customer_trusted(customer_landing), context.partition_keys)
    checks = [schema_result(published), not_empty_result(published), one_row_per_customer(lake, published)]
    return materialize_result(published, checks)


def trusted_readings_asset(table: TableSpec, landing: TableSpec, customers: TableSpec, transform):
    """Readings kept for consenting customers: `transform(landing, customers, consent_cutoff)`."""

    @zone_asset(table, all_partitions_of(landing, customers), "not_more_than_landing")
    def _trusted_readings(
        context: dg.AssetExecutionContext, pyspark: PySparkResource, lake: LocalLake, options: StediOptions
    ):
        spark = pyspark.spark_session
        rows = transform(lake.read(spark, landing), lake.read(spark, customers), options.consent_cutoff)
        published = publish(lake, table, rows, context.partition_keys)
        checks = [
            schema_result(published),
            not_empty_result(published),
            not_more_than_landing(lake, published, landing),
        ]
        return materialize_result(published, checks)

    return _trusted_readings


accelerometer_trusted = trusted_readings_asset(
    ACCELEROMETER_TRUSTED, LANDING_TABLES["accelerometer"], CUSTOMER_TRUSTED, trusted.accelerometer_trusted
)
step_trainer_trusted = trusted_readings_asset(
    STEP_TRAINER_TRUSTED, LANDING_TABLES["step_trainer"], CUSTOMER_CURATED, trusted.step_trainer_trusted
)
