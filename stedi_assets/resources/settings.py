"""Where the landing files are and how the contract's options are set."""

import dagster as dg

from stedi_assets.landing_files import LandingFile, list_landing_files


class LandingRoot(dg.ConfigurableResource):
    """The folder holding `<source>/landing/...`; files there are only ever read."""

    root: str

    def files(self, source: str, partition_keys: list[str] | None = None) -> list[LandingFile]:
        files = list_landing_files(self.root, source)
        return [f for f in files if partition_keys is None or f.ingest_date in partition_keys]


class StediOptions(dg.ConfigurableResource):
    """The contract's options, the key of the pseudonymous customer ids, and quarantine thresholds."""

    ml_join: str = "customer"  # or "timestamp"
    consent_cutoff: bool = False
    pseudonym_key: str
    quarantine_warn_rate: float = 0.01  # share of landed lines quarantined that warns
    quarantine_error_rate: float = 0.10  # ... and that stops the downstream tables
