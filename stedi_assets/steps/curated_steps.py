"""Curated steps: the tables data scientists train on."""

from pyspark.sql import functions as F

from stedi_assets.checks.count_checks import (
    cross_customer_pairs,
    no_personal_columns,
    not_empty,
    one_row_per_customer,
)
from stedi_assets.schemas.tables import (
    ACCELEROMETER_TRUSTED,
    CUSTOMER_CURATED,
    CUSTOMER_TRUSTED,
    MACHINE_LEARNING_CURATED,
    PARTITION_COLUMN,
    STEP_TRAINER_TRUSTED,
)
from stedi_assets.steps import StepInputs
from stedi_assets.steps.outcome import TableOutcome
from stedi_assets.steps.publish import publish, table_outcome
from stedi_assets.steps.stale import digests_by_date, overlapping, stale_partitions, stale_whole_table
from stedi_assets.transforms import curated


def customer_curated_step(inputs: StepInputs) -> list[TableOutcome]:
    """Computed whole, and only when customer_trusted or accelerometer_trusted (or the code) changed."""
    spark, lake, keys = inputs.spark, inputs.lake, inputs.partition_keys
    pinned = lake.pin(CUSTOMER_CURATED)
    stale = stale_whole_table(
        CUSTOMER_CURATED.name,
        pinned.state,
        inputs.registered_partition_keys,
        lake.state(CUSTOMER_TRUSTED),
        lake.state(ACCELEROMETER_TRUSTED),
    )
    rows = curated.customer_curated(lake.read(spark, CUSTOMER_TRUSTED), lake.read(spark, ACCELEROMETER_TRUSTED))
    published = publish(lake, CUSTOMER_CURATED, rows, keys, stale.keys, stale.extra_state, pinned=pinned)
    return [table_outcome(published, stale.keys, [not_empty(published), one_row_per_customer(published)])]


def machine_learning_curated_step(inputs: StepInputs) -> list[TableOutcome]:
    """Recomputes only the partitions whose inputs changed (see `steps.stale`), in the run's dates or in any
    other, from only the accelerometer partitions their step readings can pair with."""
    spark, lake, options, keys = inputs.spark, inputs.lake, inputs.options, inputs.partition_keys
    registered = inputs.registered_partition_keys
    pinned = lake.pin(MACHINE_LEARNING_CURATED)
    steps, customers = lake.read(spark, STEP_TRAINER_TRUSTED), lake.read(spark, CUSTOMER_CURATED)
    step_state, reading_state = lake.state(STEP_TRAINER_TRUSTED), lake.state(ACCELEROMETER_TRUSTED)
    owners_by_date = digests_by_date(curated.step_owners(steps, customers))
    pairable = {key: overlapping(step_state.get(key, {}), reading_state) for key in registered}
    stale = stale_partitions(
        MACHINE_LEARNING_CURATED.name,
        pinned.state,
        registered,
        {
            key: (
                step_state.get(key, {}).get("digest"),
                owners_by_date.get(key),
                {reading_key: reading_state[reading_key]["digest"] for reading_key in pairable[key]},
                options.ml_join,
                options.consent_cutoff,
                options.pseudonym_key,
            )
            for key in registered
        },
    )
    readings_needed = sorted({reading_key for key in stale.keys for reading_key in pairable[key]})
    rows = curated.machine_learning_curated(
        steps.where(F.col(PARTITION_COLUMN).isin(stale.keys)),
        lake.read(spark, ACCELEROMETER_TRUSTED).where(F.col(PARTITION_COLUMN).isin(readings_needed)),
        customers,
        options.ml_join,
        options.pseudonym_key,
        options.consent_cutoff,
    )
    published = publish(lake, MACHINE_LEARNING_CURATED, rows, keys, stale.keys, stale.extra_state, pinned=pinned)
    checks = [
        not_empty(published),
        no_personal_columns(published),
        cross_customer_pairs(published, options.ml_join),
    ]
    return [table_outcome(published, stale.keys, checks)]
