"""step_trainer_trusted: the distinct step trainer readings of devices that belong to a customer in
customer_curated, each in the earliest ingest date it landed. Declared, checked and built as
accelerometer_trusted is (`readings_build`)."""

from stedi_assets.schemas.tables import CUSTOMER_CURATED, STEP_TRAINER_TRUSTED
from stedi_assets.transforms import consent
from stedi_assets.transforms.trusted import step_trainer_consent, step_trainer_trusted
from stedi_assets.zones.trusted.shared import readings_build

BUILD = readings_build(
    STEP_TRAINER_TRUSTED,
    CUSTOMER_CURATED,
    step_trainer_trusted,
    step_trainer_consent,
    consent.by_device,
    code_version="1",
)
