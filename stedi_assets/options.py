"""The contract's options and the platform's defaults, as plain values (no Spark, no Dagster)."""

from dataclasses import dataclass

ML_JOIN_MODES = ("customer", "timestamp")
DEFAULT_RETAIN_DAYS = 7  # how long old snapshots (and a withdrawn customer's rows in them) are kept


@dataclass(frozen=True)
class StediOptions:
    """The contract's options, the key of the pseudonymous customer ids, and quarantine thresholds."""

    ml_join: str = "customer"  # or "timestamp"
    consent_cutoff: bool = False
    quarantine_warn_rate: float = 0.01  # share of landed lines quarantined that warns
    quarantine_error_rate: float = 0.10  # ... and that stops the downstream tables
    pseudonym_key: str | None = None  # the key (runs on this machine, see `pseudonym_key.py`)...
    pseudonym_key_secret: str | None = None  # ... or the AWS secret a Glue or EMR job reads it from
