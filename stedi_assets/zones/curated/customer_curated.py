"""customer_curated: the trusted customers with at least one trusted accelerometer reading, one row per
customer key. Computed whole, and only when customer_trusted or accelerometer_trusted (or the code) changed."""

from stedi_assets.builds.build import Build, BuildInputs, Table, publish, same_names
from stedi_assets.builds.checks import not_empty, one_row_per_customer, schema_valid
from stedi_assets.builds.outcome import Built
from stedi_assets.builds.stale import rows_in, stale_whole_table
from stedi_assets.schemas.tables import ACCELEROMETER_TRUSTED, CUSTOMER_CURATED, CUSTOMER_TRUSTED
from stedi_assets.transforms import consent, curated

TABLE = Table(
    CUSTOMER_CURATED,
    (schema_valid, not_empty, one_row_per_customer),
    code_version="2",
    upstream=(ACCELEROMETER_TRUSTED,),
    upstream_same_date=(CUSTOMER_TRUSTED,),
    column_sources=same_names(CUSTOMER_CURATED, CUSTOMER_TRUSTED),
    belongs=consent.by_email("email"),
)


def compute(inputs: BuildInputs) -> list[Built]:
    spark, lake = inputs.spark, inputs.lake
    pinned = lake.pin(CUSTOMER_CURATED)
    customers = lake.state(CUSTOMER_TRUSTED)
    stale = stale_whole_table(
        TABLE.code_version,
        pinned.state,
        inputs.registered_partition_keys,
        customers,
        lake.state(ACCELEROMETER_TRUSTED),
    )
    rows = None  # a customer's row is in the partition of its customer_trusted row
    if rows_in(customers, stale.keys):
        rows = curated.customer_curated(lake.read(spark, CUSTOMER_TRUSTED), lake.read(spark, ACCELEROMETER_TRUSTED))
    published = publish(inputs, CUSTOMER_CURATED, rows, stale.keys, stale.extra_state(), pinned=pinned)
    return [Built(published, stale.keys, inputs.options)]


BUILD = Build(CUSTOMER_CURATED.name, (TABLE,), compute)
