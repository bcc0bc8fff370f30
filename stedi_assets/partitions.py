import warnings

import dagster as dg

# We use some of Dagster's beta features on purpose (single-run backfill policies, source code
# references); their warnings say nothing a user of this platform can act on.
warnings.filterwarnings("ignore", category=dg.BetaWarning)

# One partition per ingest date found in landing; sensors and `stedi materialize` register them.
ingest_date_partitions = dg.DynamicPartitionsDefinition(name="ingest_date")

# A range of ingest dates runs as one run in one Spark session, not one run per date.
single_run = dg.BackfillPolicy.single_run()
