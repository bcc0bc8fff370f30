"""Trusted steps: only the data of customers who consent to research."""

from stedi_assets.checks.counts import count_check
from stedi_assets.checks.outcome import CheckOutcome, TableOutcome
from stedi_assets.lake import LocalLake
from stedi_assets.schemas.tables import (
    ACCELEROMETER_TRUSTED,
    CUSTOMER_CURATED,
    CUSTOMER_TRUSTED,
    LANDING_TABLES,
    STEP_TRAINER_TRUSTED,
    TableSpec,
)
from stedi_assets.steps import StepInputs
from stedi_assets.steps.publish import Published, not_empty_result, one_row_per_customer, publish, table_outcome
from stedi_assets.transforms import trusted


def not_more_than_landing(lake: LocalLake, published: Published, landing: TableSpec) -> CheckOutcome:
    stored_landing = lake.read(published.rows.sparkSession, landing)
    distinct_landing = stored_landing.select(*published.table.column_names).distinct().count()
    return count_check(
        "not_more_than_landing",
        published.table_rows <= distinct_landing,
        table_rows=published.table_rows,
        distinct_landing_records=distinct_landing,
    )


def customer_trusted_step(inputs: StepInputs) -> list[TableOutcome]:
    lake = inputs.lake
    customer_landing = lake.read(inputs.spark, LANDING_TABLES["customer"])
    published = publish(lake, CUSTOMER_TRUSTED, trusted.customer_trusted(customer_landing), inputs.partition_keys)
    return [table_outcome(published, [not_empty_result(published), one_row_per_customer(published)])]


def trusted_readings_step(table: TableSpec, landing: TableSpec, customers: TableSpec, transform):
    """Readings kept for consenting customers: `transform(landing, customers, consent_cutoff)`."""

    def _step(inputs: StepInputs) -> list[TableOutcome]:
        spark, lake = inputs.spark, inputs.lake
        rows = transform(lake.read(spark, landing), lake.read(spark, customers), inputs.options.consent_cutoff)
        published = publish(lake, table, rows, inputs.partition_keys)
        checks = [not_empty_result(published), not_more_than_landing(lake, published, landing)]
        return [table_outcome(published, checks)]

    return _step


accelerometer_trusted_step = trusted_readings_step(
    ACCELEROMETER_TRUSTED, LANDING_TABLES["accelerometer"], CUSTOMER_TRUSTED, trusted.accelerometer_trusted
)
step_trainer_trusted_step = trusted_readings_step(
    STEP_TRAINER_TRUSTED, LANDING_TABLES["step_trainer"], CUSTOMER_CURATED, trusted.step_trainer_trusted
)
