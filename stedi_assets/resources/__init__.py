"""Resources per deployment, chosen in one place; assets never branch on the deployment."""

import os

from stedi_assets.lake import LocalLake
from stedi_assets.options import DEV_PSEUDONYM_KEY, ML_JOIN_MODES
from stedi_assets.resources.local_steps import LocalSteps
from stedi_assets.resources.spark import local_spark
from stedi_assets.settings import LandingRoot, StediOptions


def local_resources(
    landing_root: str,
    lake_root: str,
    ml_join: str = "customer",
    consent_cutoff: bool = False,
    pseudonym_key: str = DEV_PSEUDONYM_KEY,
    spark_master: str = "local[*]",
) -> dict:
    """Raises ValueError for an unknown option value, before anything runs or is written."""
    if ml_join not in ML_JOIN_MODES:
        raise ValueError(f"ml_join must be one of {', '.join(ML_JOIN_MODES)}, not {ml_join!r} (STEDI_ML_JOIN)")
    return {
        "zone_steps": LocalSteps(),
        "pyspark": local_spark(spark_master),
        "landing_root": LandingRoot(root=landing_root),
        "lake": LocalLake(root=lake_root),
        "options": StediOptions(
            ml_join=ml_join,
            consent_cutoff=consent_cutoff,
            pseudonym_key=pseudonym_key,
        ),
    }


def resources_from_environment() -> dict:
    """What `dagster dev` uses: STEDI_* variables, defaulting to the sample data under ./data."""
    return local_resources(
        landing_root=os.environ.get("STEDI_LANDING_ROOT", "data/landing"),
        lake_root=os.environ.get("STEDI_LAKE_ROOT", "data/lake"),
        ml_join=os.environ.get("STEDI_ML_JOIN", "customer"),
        consent_cutoff=os.environ.get("STEDI_CONSENT_CUTOFF", "off").lower() in ("1", "on", "true", "yes"),
        pseudonym_key=os.environ.get("STEDI_PSEUDONYM_KEY", DEV_PSEUDONYM_KEY),
        spark_master=os.environ.get("STEDI_SPARK_MASTER", "local[*]"),
    )
