"""Resources per deployment, chosen in one place; assets never branch on the deployment."""

import os

from stedi_assets.lake.catalog import DEFAULT_NAMESPACE
from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.landing_files import LandingRoot, local_landing_bytes
from stedi_assets.options import ML_JOIN_MODES, StediOptions, parse_size, parse_split
from stedi_assets.pseudonym_key import FIELD_ENV, SECRET_ENV, local_pseudonym_key
from stedi_assets.resources.local_steps import LocalSteps
from stedi_assets.resources.spark import local_spark


def shared_resources(
    landing_root: str,
    lake_root: str,
    ml_join: str = "customer",
    consent_cutoff: bool = False,
    pseudonym_key: str | None = None,
    namespace: str = DEFAULT_NAMESPACE,
    pseudonym_key_secret: str | None = None,
    pseudonym_key_secret_field: str | None = None,
    max_file_size: int = StediOptions.max_file_size,
    max_record_size: int = StediOptions.max_record_size,
    split_shares: tuple[float, ...] = StediOptions.split_shares,
) -> dict:
    """What every deployment has: where the data is, and the options, with the pseudonym key or the AWS
    secret holding it. Raises ValueError for an unknown option value, an unsupported root or no key, before
    anything runs or is written."""
    if ml_join not in ML_JOIN_MODES:
        raise ValueError(f"ml_join must be one of {', '.join(ML_JOIN_MODES)}, not {ml_join!r} (STEDI_ML_JOIN)")
    if not (pseudonym_key or pseudonym_key_secret):
        raise ValueError(f"no pseudonym key: set {SECRET_ENV} (the AWS Secrets Manager secret holding it)")
    options = StediOptions(
        ml_join,
        consent_cutoff,
        pseudonym_key=pseudonym_key,
        pseudonym_key_secret=pseudonym_key_secret,
        pseudonym_key_secret_field=pseudonym_key_secret_field,
        max_file_size=max_file_size,
        max_record_size=max_record_size,
        split_shares=split_shares,
    )
    return {"landing_root": LandingRoot(root=landing_root), "lake": Lake(lake_root, namespace), "options": options}


def local_resources(
    landing_root: str,
    lake_root: str,
    ml_join: str = "customer",
    consent_cutoff: bool = False,
    pseudonym_key: str | None = None,
    namespace: str = DEFAULT_NAMESPACE,
    spark_master: str = "local[*]",
    landing_bytes: int | None = None,
    max_file_size: int = StediOptions.max_file_size,
    max_record_size: int = StediOptions.max_record_size,
    split_shares: tuple[float, ...] = StediOptions.split_shares,
) -> dict:
    """Steps run in the Dagster process, on local Spark (or the cluster at `spark_master`); `landing_bytes`
    tunes local Spark to the size of the landing data (see `spark_config`). Without a `pseudonym_key`, the
    one configured or this installation's is used (`local_pseudonym_key`)."""
    key = local_pseudonym_key(pseudonym_key)
    return {
        **shared_resources(
            landing_root,
            lake_root,
            ml_join,
            consent_cutoff,
            key,
            namespace,
            max_file_size=max_file_size,
            max_record_size=max_record_size,
            split_shares=split_shares,
        ),
        "zone_steps": LocalSteps(),
        "pyspark": local_spark(spark_master, landing_bytes, s3_lake=lake_root.startswith("s3://")),
    }


def setting(variable: str, parse, default):
    """The variable's value read by `parse`, or `default` when it is not set; a bad value names the variable."""
    if variable not in os.environ:
        return default
    try:
        return parse(os.environ[variable])
    except ValueError as error:
        raise ValueError(f"{variable}: {error}") from None


def resources_from_environment() -> dict:
    """What `dagster dev` uses: STEDI_* variables, defaulting to the sample data under ./data.

    STEDI_DEPLOYMENT=aws runs the steps on AWS Glue or EMR Serverless (see `resources/aws.py`)."""
    shared = {
        "landing_root": os.environ.get("STEDI_LANDING_ROOT", "data/landing"),
        "lake_root": os.environ.get("STEDI_LAKE_ROOT", "data/lake"),
        "ml_join": os.environ.get("STEDI_ML_JOIN", "customer"),
        "consent_cutoff": os.environ.get("STEDI_CONSENT_CUTOFF", "off").lower() in ("1", "on", "true", "yes"),
        "namespace": os.environ.get("STEDI_NAMESPACE", DEFAULT_NAMESPACE),
        "max_file_size": setting("STEDI_MAX_FILE_SIZE", parse_size, StediOptions.max_file_size),
        "max_record_size": setting("STEDI_MAX_RECORD_SIZE", parse_size, StediOptions.max_record_size),
        "split_shares": setting("STEDI_SPLIT", parse_split, StediOptions.split_shares),
    }
    deployment = os.environ.get("STEDI_DEPLOYMENT", "local")
    if deployment == "local":
        # Each run's process loads the definitions: its Spark is tuned to the landing data as the run starts.
        return local_resources(
            **shared,
            spark_master=os.environ.get("STEDI_SPARK_MASTER", "local[*]"),
            landing_bytes=local_landing_bytes(shared["landing_root"]),
        )
    if deployment == "aws":
        from stedi_assets.resources.aws import steps_from_environment  # boto3 clients only when asked for

        if not shared["lake_root"].startswith("s3://"):
            raise ValueError(
                "STEDI_DEPLOYMENT=aws needs the lake on S3 (STEDI_LAKE_ROOT=s3://...): Glue and EMR "
                "workers share no folder with each other or with Dagster"
            )
        secret = {  # the job reads the key itself: it never travels in the pipes context
            "pseudonym_key_secret": os.environ.get(SECRET_ENV),
            "pseudonym_key_secret_field": os.environ.get(FIELD_ENV),
        }
        return {**shared_resources(**shared, **secret), "zone_steps": steps_from_environment()}
    raise ValueError(f"STEDI_DEPLOYMENT must be local or aws, not {deployment!r}")
