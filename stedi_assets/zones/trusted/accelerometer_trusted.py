"""accelerometer_trusted: the distinct accelerometer readings of customers who consent to research (in
customer_trusted), each in the earliest ingest date it landed. Declared, checked and built as
step_trainer_trusted is (`readings_build`)."""

from stedi_assets.schemas.tables import ACCELEROMETER_TRUSTED, CUSTOMER_TRUSTED
from stedi_assets.transforms import consent
from stedi_assets.transforms.trusted import accelerometer_consent, accelerometer_trusted
from stedi_assets.zones.trusted.shared import readings_build

BUILD = readings_build(
    ACCELEROMETER_TRUSTED,
    CUSTOMER_TRUSTED,
    accelerometer_trusted,
    accelerometer_consent,
    consent.by_email("user"),
    code_version="2",
)
