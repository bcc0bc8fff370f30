import os
from pathlib import Path

import pytest
from pyspark.sql import SparkSession

from stedi_assets.resources.spark import LOCAL_SPARK_CONFIG

REPO_ROOT = Path(__file__).resolve().parents[1]
STARTER_DATA = Path(
    os.environ.get("STEDI_STARTER_DATA", REPO_ROOT.parent / "shared" / "data" / "stedi-starter")
)

# The counts the data contract states for the public starter data, per option column.
CONTRACT_COUNTS = {
    "default": {
        "customer_landing": 956, "accelerometer_landing": 81273, "step_trainer_landing": 28680,
        "customer_trusted": 482, "accelerometer_trusted": 40981, "step_trainer_trusted": 14460,
        "customer_curated": 482, "machine_learning_curated": 40981,
    },
    "ml_join=timestamp": {
        "customer_landing": 956, "accelerometer_landing": 81273, "step_trainer_landing": 28680,
        "customer_trusted": 482, "accelerometer_trusted": 40981, "step_trainer_trusted": 14460,
        "customer_curated": 482, "machine_learning_curated": 43681,
    },
    "consent_cutoff=on": {
        "customer_landing": 956, "accelerometer_landing": 81273, "step_trainer_landing": 28680,
        "customer_trusted": 482, "accelerometer_trusted": 32025, "step_trainer_trusted": 11297,
        "customer_curated": 464, "machine_learning_curated": 32025,
    },
}


@pytest.fixture(scope="session")
def spark() -> SparkSession:
    """The same local session the assets use (getOrCreate): one JVM for the whole test run."""
    builder = SparkSession.builder
    for key, value in LOCAL_SPARK_CONFIG.items():
        builder = builder.config(key, value)
    return builder.getOrCreate()


@pytest.fixture(scope="session")
def starter_data() -> Path:
    if not (STARTER_DATA / "customer" / "landing").is_dir():
        pytest.skip(f"public starter data not found at {STARTER_DATA} (set STEDI_STARTER_DATA)")
    return STARTER_DATA
