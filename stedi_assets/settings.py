"""Where the landing files are and how the contract's options are set (plain values, no Dagster)."""

from dataclasses import dataclass

from stedi_assets.landing_files import LandingFile, list_landing_files


@dataclass(frozen=True)
class LandingRoot:
    """The folder holding `<source>/landing/...`; files there are only ever read."""

    root: str

    def files(self, source: str, partition_keys: list[str] | None = None) -> list[LandingFile]:
        files = list_landing_files(self.root, source)
        return [f for f in files if partition_keys is None or f.ingest_date in partition_keys]


@dataclass(frozen=True)
class StediOptions:
    """The contract's options, the key of the pseudonymous customer ids, and quarantine thresholds."""

    ml_join: str = "customer"  # or "timestamp"
    consent_cutoff: bool = False
    quarantine_warn_rate: float = 0.01  # share of landed lines quarantined that warns
    quarantine_error_rate: float = 0.10  # ... and that stops the downstream tables
    pseudonym_key: str | None = None  # the key (runs on this machine, see `pseudonym_key.py`)...
    pseudonym_key_secret: str | None = None  # ... or the AWS secret a Glue or EMR job reads it from
