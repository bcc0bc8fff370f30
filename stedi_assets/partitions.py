import warnings

import dagster as dg

# One partition per ingest date found in landing; sensors and `stedi materialize` register them.
ingest_date_partitions = dg.DynamicPartitionsDefinition(name="ingest_date")

# A range of ingest dates runs as one run in one Spark session, not one run per date.
# (Dagster marks backfill policies beta; the warning says nothing a user can act on.)
warnings.filterwarnings("ignore", message=".*backfill_policy.*", category=dg.BetaWarning)
single_run = dg.BackfillPolicy.single_run()
