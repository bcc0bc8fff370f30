"""Trusted steps: only the data of customers who consent to research."""

from pyspark.sql import functions as F

from stedi_assets.checks.counts import count_check
from stedi_assets.checks.outcome import CheckOutcome, TableOutcome
from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.schemas.tables import (
    ACCELEROMETER_TRUSTED,
    CUSTOMER_CURATED,
    CUSTOMER_TRUSTED,
    LANDING_TABLES,
    PARTITION_COLUMN,
    STEP_TRAINER_TRUSTED,
    TableSpec,
)
from stedi_assets.steps import StepInputs
from stedi_assets.steps.publish import Published, not_empty_result, one_row_per_customer, publish, table_outcome
from stedi_assets.steps.stale import digests_by_date, landed_up_to, reading_span, span_of, stale_partitions
from stedi_assets.transforms import trusted


def readings_distinct(lake: Lake, published: Published, time_column: str) -> CheckOutcome:
    """Copies of a reading the run wrote, within what it wrote or in any other partition.

    Copies share their time, so only the stored rows within the written partitions' time span (kept in
    their state) are grouped, and the Parquet reader skips the rest.
    """
    state = lake.state(published.table)
    spans = [span for key in published.rewritten if (span := span_of(state[key]))]
    copies = 0
    if spans:
        first, last = min(first for first, _ in spans), max(last for _, last in spans)
        nearby = published.stored.where(F.col(time_column).between(first, last))
        readings = nearby.groupBy(*published.table.column_names).agg(
            F.count(F.lit(1)).alias("stored"),
            F.max(F.col(PARTITION_COLUMN).isin(published.rewritten).cast("int")).alias("written"),
        )
        copies = readings.where((F.col("stored") > 1) & (F.col("written") == 1)).count()
    return count_check(
        "readings_distinct", copies == 0, readings_stored_twice=copies, partitions_checked=len(published.rewritten)
    )


def customer_trusted_step(inputs: StepInputs) -> list[TableOutcome]:
    lake = inputs.lake
    customer_landing = lake.read(inputs.spark, LANDING_TABLES["customer"])
    published = publish(lake, CUSTOMER_TRUSTED, trusted.customer_trusted(customer_landing), inputs.partition_keys)
    return [table_outcome(published, [not_empty_result(published), one_row_per_customer(published)])]


def trusted_readings_step(
    table: TableSpec, landing: TableSpec, customers: TableSpec, time_column: str, transform, consent
):
    """Readings kept for consenting customers, recomputed only in the partitions whose inputs changed.

    `transform(landing, customers, consent_cutoff, dates)` computes the table, `consent(landing, customers)`
    each landed reading's consent (see `steps.stale`).
    """

    def _step(inputs: StepInputs) -> list[TableOutcome]:
        spark, lake, keys, cutoff = inputs.spark, inputs.lake, inputs.partition_keys, inputs.options.consent_cutoff
        landing_rows, customer_rows = lake.read(spark, landing), lake.read(spark, customers)
        consent_by_date = digests_by_date(consent(landing_rows, customer_rows))
        landed = landed_up_to(lake.state(landing), keys)
        stale = stale_partitions(
            lake.state(table), keys, {key: (landed[key], consent_by_date.get(key), cutoff) for key in keys}
        )
        rows = transform(landing_rows, customer_rows, cutoff, None if stale.of_all(keys) else stale.keys)
        published = publish(lake, table, rows, keys, stale.keys, stale.extra_state, reading_span(time_column))
        checks = [not_empty_result(published), readings_distinct(lake, published, time_column)]
        return [table_outcome(published, checks)]

    return _step


accelerometer_trusted_step = trusted_readings_step(
    ACCELEROMETER_TRUSTED,
    LANDING_TABLES["accelerometer"],
    CUSTOMER_TRUSTED,
    "timestamp",
    trusted.accelerometer_trusted,
    trusted.accelerometer_consent,
)
step_trainer_trusted_step = trusted_readings_step(
    STEP_TRAINER_TRUSTED,
    LANDING_TABLES["step_trainer"],
    CUSTOMER_CURATED,
    "sensorReadingTime",
    trusted.step_trainer_trusted,
    trusted.step_trainer_consent,
)
