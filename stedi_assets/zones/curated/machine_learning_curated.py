"""machine_learning_curated: each trusted step trainer reading beside the accelerometer readings of the same
customer at the same millisecond (`ml_join=customer`; `timestamp` pairs on the time alone). No direct personal
data: customers appear as keyed pseudonyms (`pseudonym_key`).

Recomputes only the partitions whose inputs changed (`builds.stale`), in the run's dates or in any other,
from only the accelerometer partitions their step readings can pair with."""

from pyspark.sql import Column
from pyspark.sql import functions as F

from stedi_assets.builds.build import Build, BuildInputs, Table, publish, shaping_options
from stedi_assets.builds.checks import check, no_personal_columns, not_empty, schema_valid
from stedi_assets.builds.outcome import Built
from stedi_assets.builds.stale import overlapping, per_date_digests, rows_in, stale_partitions, unchanged_since_built
from stedi_assets.schemas.tables import (
    ACCELEROMETER_TRUSTED,
    CUSTOMER_CURATED,
    MACHINE_LEARNING_CURATED,
    PARTITION_COLUMN,
    STEP_TRAINER_TRUSTED,
)
from stedi_assets.transforms import consent, curated

CROSS_PAIRS = "cross_customer_pairs"  # a partition's measure: its rows that pair two customers
OWNERS = "owners"  # the state entry of a partition's step readings' owners digest (`per_date_digests`)


def crossed() -> Column:
    return F.col("customer_id") != F.col("accelerometer_customer_id")


def pairs_counted() -> dict[str, Column]:
    """The measure each write keeps in a partition's state: its rows pairing two customers."""
    return {CROSS_PAIRS: F.count_if(crossed())}


@check(
    CROSS_PAIRS,
    "Rows pairing one customer's step trainer with another customer's accelerometer reading. Must be 0 with "
    "ml_join=customer; reported as a WARN with ml_join=timestamp.",
    severity=None,  # ERROR with ml_join=customer, WARN with ml_join=timestamp
)
def cross_customer_pairs(built: Built):
    """Over the whole table, from each partition's state: the write counts a partition's pairs as it digests it.
    Only partitions written before that (their state has no count) are read."""
    ml_join, published = built.options.ml_join, built.published
    measures = {key: entry.get("measures", {}) for key, entry in published.state.items() if entry.get("rows")}
    uncounted = sorted(key for key, measured in measures.items() if CROSS_PAIRS not in measured)
    pairs = sum(measured.get(CROSS_PAIRS, 0) for measured in measures.values())
    if uncounted:
        pairs += published.stored.where(F.col(PARTITION_COLUMN).isin(uncounted) & crossed()).count()
    metadata = {CROSS_PAIRS: pairs, "ml_join": ml_join, "partitions_read": len(uncounted)}
    return pairs == 0, metadata, "ERROR" if ml_join == "customer" else "WARN"


TABLE = Table(
    MACHINE_LEARNING_CURATED,
    (schema_valid, not_empty, no_personal_columns, cross_customer_pairs),
    code_version="3",
    upstream=(ACCELEROMETER_TRUSTED, CUSTOMER_CURATED),
    upstream_same_date=(STEP_TRAINER_TRUSTED,),
    shaped_by=("ml_join", "consent_cutoff", "pseudonym_key"),
    belongs=consent.by_pseudonyms,
    column_sources={
        "sensorReadingTime": [(STEP_TRAINER_TRUSTED, "sensorReadingTime")],
        "serialNumber": [(STEP_TRAINER_TRUSTED, "serialNumber")],
        "distanceFromObject": [(STEP_TRAINER_TRUSTED, "distanceFromObject")],
        "timestamp": [(ACCELEROMETER_TRUSTED, "timestamp")],
        "x": [(ACCELEROMETER_TRUSTED, "x")],
        "y": [(ACCELEROMETER_TRUSTED, "y")],
        "z": [(ACCELEROMETER_TRUSTED, "z")],
        "customer_id": [
            (STEP_TRAINER_TRUSTED, "serialNumber"),
            (CUSTOMER_CURATED, "serialNumber"),
            (CUSTOMER_CURATED, "email"),
        ],
        "accelerometer_customer_id": [(ACCELEROMETER_TRUSTED, "user")],
    },
)


def compute(inputs: BuildInputs) -> list[Built]:
    spark, lake, options = inputs.spark, inputs.lake, inputs.options
    registered = inputs.registered_partition_keys
    pinned = lake.pin(MACHINE_LEARNING_CURATED)
    # The states before the rows: rows newer than the states they are fingerprinted by are computed again next
    # time, never left stale under a fingerprint that claims them current.
    step_state, reading_state = lake.state(STEP_TRAINER_TRUSTED), lake.state(ACCELEROMETER_TRUSTED)
    step_readings, customers = lake.read(spark, STEP_TRAINER_TRUSTED), lake.read(spark, CUSTOMER_CURATED)
    owners_by_date, owners_state = per_date_digests(
        OWNERS,
        lambda readings: curated.step_owners(readings, customers),
        step_readings,
        step_state,
        registered,
        pinned,
        unchanged_since_built(lake, CUSTOMER_CURATED, pinned, inputs.built_from.get(MACHINE_LEARNING_CURATED.name)),
    )
    pairable = {key: overlapping(step_state.get(key, {}), reading_state) for key in registered}
    stale = stale_partitions(
        TABLE.code_version,
        pinned.state,
        registered,
        {
            key: (
                step_state.get(key, {}).get("digest"),
                owners_by_date.get(key),
                {reading_key: reading_state[reading_key]["digest"] for reading_key in pairable[key]},
                shaping_options(TABLE, options),
            )
            for key in registered
        },
    )
    readings_needed = sorted({reading_key for key in stale.keys for reading_key in pairable[key]})
    rows = None  # a pair is in the partition of its step trainer reading
    if rows_in(step_state, stale.keys):
        rows = curated.machine_learning_curated(
            step_readings.where(F.col(PARTITION_COLUMN).isin(stale.keys)),
            lake.read(spark, ACCELEROMETER_TRUSTED).where(F.col(PARTITION_COLUMN).isin(readings_needed)),
            customers,
            options.ml_join,
            options.pseudonym_key,
            options.consent_cutoff,
        )
    published = publish(
        inputs, MACHINE_LEARNING_CURATED, rows, stale.keys, stale.extra_state(owners_state), pairs_counted(), pinned
    )
    return [Built(published, stale.keys, options)]


BUILD = Build(MACHINE_LEARNING_CURATED.name, (TABLE,), compute)
