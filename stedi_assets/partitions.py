import warnings

import dagster as dg

# One partition per ingest date found in landing; sensors and `stedi materialize` register them.
ingest_date_partitions = dg.DynamicPartitionsDefinition(name="ingest_date")

# A range of ingest dates runs as one run in one Spark session, not one run per date. A beta feature of
# Dagster's, used on purpose: its warning says nothing a user of this platform can act on.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", dg.BetaWarning)
    single_run = dg.BackfillPolicy.single_run()
