"""Trusted steps: only the data of customers who consent to research, from every delivery that is not held."""

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from stedi_assets.checks.count_checks import not_empty, one_row_per_customer, readings_distinct
from stedi_assets.deliveries import held_dates
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
from stedi_assets.steps.outcome import TableOutcome
from stedi_assets.steps.publish import publish, table_outcome
from stedi_assets.steps.stale import (
    digests_by_date,
    landed_up_to,
    reading_span,
    stale_partitions,
    stale_whole_table,
)
from stedi_assets.transforms import trusted


def flowing(spark: SparkSession, lake: Lake, source: str) -> tuple[DataFrame, dict[str, dict], list[str]]:
    """A landing table's rows and partition state without its held deliveries (`deliveries`), and the held
    dates. A hold or a release changes the state the trusted steps fingerprint, so they recompute."""
    landing = LANDING_TABLES[source]
    state = lake.state(landing)
    held = held_dates(source, state)
    flowing_state = {key: entry for key, entry in state.items() if key not in held}
    # The dates the state knows and does not hold: a date another writer commits meanwhile waits for the next run.
    rows = lake.read(spark, landing).where(F.col(PARTITION_COLUMN).isin(sorted(flowing_state)))
    return rows, flowing_state, held


def held_metadata(source: str, held: list[str]) -> dict:
    """What a trusted table's materialization tells of the deliveries it leaves out."""
    return {"deliveries_held": [f"{source} {date}" for date in held]} if held else {}


def customer_trusted_step(inputs: StepInputs) -> list[TableOutcome]:
    """Computed whole, and only when customer_landing's deliveries that flow (or the code) changed."""
    lake, keys = inputs.lake, inputs.partition_keys
    pinned = lake.pin(CUSTOMER_TRUSTED)
    landing_rows, landing_state, held = flowing(inputs.spark, lake, "customer")
    stale = stale_whole_table(CUSTOMER_TRUSTED.name, pinned.state, inputs.registered_partition_keys, landing_state)
    rows = trusted.customer_trusted(landing_rows)
    published = publish(lake, CUSTOMER_TRUSTED, rows, keys, stale.keys, stale.extra_state, pinned=pinned)
    checks = [not_empty(published), one_row_per_customer(published)]
    return [table_outcome(published, stale.keys, checks, held_metadata("customer", held))]


def trusted_readings_step(table: TableSpec, source: str, customers: TableSpec, time_column: str, transform, consent):
    """Readings kept for consenting customers, recomputed only in the partitions whose inputs changed, in the
    run's dates or in any other (a customer's consent changed).

    `transform(landing, customers, consent_cutoff, dates)` computes the table, `consent(landing, customers)`
    each landed reading's consent (see `steps.stale`).
    """

    def _step(inputs: StepInputs) -> list[TableOutcome]:
        spark, lake, keys, cutoff = inputs.spark, inputs.lake, inputs.partition_keys, inputs.options.consent_cutoff
        registered = inputs.registered_partition_keys
        pinned = lake.pin(table)
        landing_rows, landing_state, held = flowing(spark, lake, source)
        customer_rows = lake.read(spark, customers)
        consent_by_date = digests_by_date(consent(landing_rows, customer_rows))
        landed = landed_up_to(landing_state, registered)
        stale = stale_partitions(
            table.name,
            pinned.state,
            registered,
            {key: (landed[key], consent_by_date.get(key), cutoff) for key in registered},
        )
        rows = transform(landing_rows, customer_rows, cutoff, None if stale.of_all(registered) else stale.keys)
        published = publish(
            lake, table, rows, keys, stale.keys, stale.extra_state, reading_span(time_column), pinned=pinned
        )
        checks = [not_empty(published), readings_distinct(lake, published, time_column)]
        return [table_outcome(published, stale.keys, checks, held_metadata(source, held))]

    return _step


accelerometer_trusted_step = trusted_readings_step(
    ACCELEROMETER_TRUSTED,
    "accelerometer",
    CUSTOMER_TRUSTED,
    "timestamp",
    trusted.accelerometer_trusted,
    trusted.accelerometer_consent,
)
step_trainer_trusted_step = trusted_readings_step(
    STEP_TRAINER_TRUSTED,
    "step_trainer",
    CUSTOMER_CURATED,
    "sensorReadingTime",
    trusted.step_trainer_trusted,
    trusted.step_trainer_consent,
)
