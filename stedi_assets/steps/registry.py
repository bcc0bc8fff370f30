"""Every step by name: the name of the asset (or multi-asset) it materializes."""

from functools import partial

from stedi_assets.schemas.tables import SOURCE_FIELDS
from stedi_assets.steps.curated_steps import customer_curated_step, machine_learning_curated_step
from stedi_assets.steps.landing_steps import landing_step
from stedi_assets.steps.trusted_steps import (
    accelerometer_trusted_step,
    customer_trusted_step,
    step_trainer_trusted_step,
)

STEPS = {
    **{f"{source}_landing_zone": partial(landing_step, source) for source in SOURCE_FIELDS},
    "customer_trusted": customer_trusted_step,
    "accelerometer_trusted": accelerometer_trusted_step,
    "step_trainer_trusted": step_trainer_trusted_step,
    "customer_curated": customer_curated_step,
    "machine_learning_curated": machine_learning_curated_step,
}
