import warnings

import dagster as dg

# We use some of Dagster's beta features on purpose (single-run backfill policies, source code
# references); their warnings say nothing a user of this platform can act on.
warnings.filterwarnings("ignore", category=dg.BetaWarning)
