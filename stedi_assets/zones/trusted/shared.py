"""What the trusted zone's tables share: each reads a landing table without its held deliveries, and the two
readings tables (accelerometer_trusted, step_trainer_trusted) are declared, checked and built alike."""

from collections.abc import Callable

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from stedi_assets.builds.build import Build, BuildInputs, Table, publish, same_names
from stedi_assets.builds.checks import not_empty, readings_distinct, schema_valid
from stedi_assets.builds.outcome import Built
from stedi_assets.builds.stale import (
    kept_span,
    landed_up_to,
    per_date_digests,
    reading_span,
    rows_in,
    stale_partitions,
    unchanged_since_built,
)
from stedi_assets.deliveries import held_dates
from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.schemas.tables import LANDING_TABLES, PARTITION_COLUMN, READING_TIME, TableSpec
from stedi_assets.transforms.consent import Belongs

CONSENT = "consent"  # the state entry of a partition's consent digest (`per_date_digests`)


def flowing(spark: SparkSession, lake: Lake, source: str) -> tuple[DataFrame, dict[str, dict], list[str]]:
    """A landing table's rows and partition state without its held deliveries (`deliveries`), and the held
    dates. A hold or a release changes the state the trusted builds fingerprint, so they recompute."""
    landing = LANDING_TABLES[source]
    pinned = lake.pin(landing)
    held = held_dates(source, pinned.state)
    flowing_state = {key: entry for key, entry in pinned.state.items() if key not in held}
    # The rows of the snapshot whose state this is (what another writer commits meanwhile waits for the next run):
    # the state's measures, such as each partition's span of reading times, are those of these rows.
    landed = lake.read(spark, landing, pinned.snapshot_id)
    rows = landed.where(F.col(PARTITION_COLUMN).isin(sorted(flowing_state)))
    return rows, flowing_state, held


def held_metadata(source: str, held: list[str]) -> dict:
    """What a trusted table's materialization tells of the deliveries it leaves out."""
    return {"deliveries_held": [f"{source} {date}" for date in held]} if held else {}


def readings_build(
    spec: TableSpec,
    customers: TableSpec,
    transform: Callable[..., DataFrame],
    consent: Callable[[DataFrame, DataFrame], DataFrame],
    belongs: Belongs,
    code_version: str,
) -> Build:
    """The distinct readings of one source whose customer (or device) is in `customers`, each in the first
    ingest date it landed, recomputed only in the partitions whose inputs changed, in the run's dates or in
    any other (a customer's consent changed). Its columns are the source's landing columns.

    `transform(landing, customers, consent_cutoff, dates, span)` computes the table, `consent(landing, customers)`
    each landed reading's consent (see `builds.stale`); `belongs` which rows are of customers who consent now."""
    source = spec.name.removesuffix("_trusted")
    landing, time_column = LANDING_TABLES[source], READING_TIME[source]
    table = Table(
        spec,
        (schema_valid, not_empty, readings_distinct(time_column)),
        code_version,
        upstream=(landing, customers),
        column_sources=same_names(spec, landing),
        shaped_by=("consent_cutoff",),
        belongs=belongs,
    )

    def compute(inputs: BuildInputs) -> list[Built]:
        spark, lake, cutoff = inputs.spark, inputs.lake, inputs.options.consent_cutoff
        registered = inputs.registered_partition_keys
        pinned = lake.pin(table.spec)
        landing_rows, landing_state, held = flowing(spark, lake, source)
        customer_rows = lake.read(spark, customers)
        consent_by_date, consent_state = per_date_digests(
            CONSENT,
            lambda landed: consent(landed, customer_rows),
            landing_rows,
            landing_state,
            registered,
            pinned,
            unchanged_since_built(lake, customers, pinned, inputs.built_from.get(table.spec.name)),
        )
        landed = landed_up_to(landing_state, registered)
        stale = stale_partitions(
            table.code_version,
            pinned.state,
            registered,
            {key: (landed[key], consent_by_date.get(key), cutoff) for key in registered},
        )
        rows = None  # a reading is in the partition of the date it first landed
        if rows_in(landing_state, stale.keys):
            dates = None if stale.of_all(registered) else stale.keys
            # The landing partitions keep their readings' span: the transform needs no job to find it.
            rows = transform(landing_rows, customer_rows, cutoff, dates, kept_span(landing_state, stale.keys))
        measures = reading_span(time_column)
        published = publish(inputs, table.spec, rows, stale.keys, stale.extra_state(consent_state), measures, pinned)
        return [Built(published, stale.keys, inputs.options, held_metadata(source, held))]

    return Build(table.spec.name, (table,), compute)
