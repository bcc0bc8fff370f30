"""customer_trusted: the current state (latest lastUpdateDate) of every customer who consents to research, one
row per customer key, in the partition of the record that holds that state. Computed whole (a customer's
latest record may come from any date), and only when customer_landing's flowing deliveries (or the code)
changed."""

from stedi_assets.builds.build import Build, BuildInputs, Table, publish, same_names
from stedi_assets.builds.checks import not_empty, one_row_per_customer, schema_valid
from stedi_assets.builds.outcome import Built
from stedi_assets.builds.stale import rows_in, stale_whole_table
from stedi_assets.schemas.tables import CUSTOMER_TRUSTED, LANDING_TABLES
from stedi_assets.transforms import consent, trusted
from stedi_assets.zones.trusted.shared import flowing, held_metadata

CUSTOMER_LANDING = LANDING_TABLES["customer"]
TABLE = Table(
    CUSTOMER_TRUSTED,
    (schema_valid, not_empty, one_row_per_customer),
    code_version="2",
    upstream=(CUSTOMER_LANDING,),
    column_sources=same_names(CUSTOMER_TRUSTED, CUSTOMER_LANDING),
    belongs=consent.by_email("email"),
)


def compute(inputs: BuildInputs) -> list[Built]:
    lake = inputs.lake
    pinned = lake.pin(CUSTOMER_TRUSTED)
    landing_rows, landing_state, held = flowing(inputs.spark, lake, "customer")
    stale = stale_whole_table(TABLE.code_version, pinned.state, inputs.registered_partition_keys, landing_state)
    # A customer's row is in the partition of the landing record that holds its state.
    rows = trusted.customer_trusted(landing_rows) if rows_in(landing_state, stale.keys) else None
    published = publish(inputs, CUSTOMER_TRUSTED, rows, stale.keys, stale.extra_state(), pinned=pinned)
    return [Built(published, stale.keys, inputs.options, held_metadata("customer", held))]


BUILD = Build(CUSTOMER_TRUSTED.name, (TABLE,), compute)
