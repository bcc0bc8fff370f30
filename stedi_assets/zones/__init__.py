"""The tables, one module each, by zone: what a table's rows mean, its inputs, its computation, its checks and
its code version, in plain Python (no Dagster: Glue and EMR jobs run the same code). The Dagster layer turns
`BUILDS` into assets and check specs (`assets.py`). Adding a table is one new module and one line here."""

from stedi_assets.zones import landing
from stedi_assets.zones.curated import customer_curated, machine_learning_curated, training_set
from stedi_assets.zones.trusted import accelerometer_trusted, customer_trusted, step_trainer_trusted

BUILDS = {
    build.name: build
    for build in (
        *landing.BUILDS,
        customer_trusted.BUILD,
        accelerometer_trusted.BUILD,
        step_trainer_trusted.BUILD,
        customer_curated.BUILD,
        machine_learning_curated.BUILD,
        training_set.BUILD,
    )
}
