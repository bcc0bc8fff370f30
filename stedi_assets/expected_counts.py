"""Expected volumes: when a profile declares a table's row count, the lake must hold exactly that."""

import json
from importlib import resources
from pathlib import Path

import dagster as dg
from dagster_pyspark import PySparkResource

from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.options import StediOptions
from stedi_assets.schemas.tables import TableSpec


def load_profile(name: str) -> dict:
    """A profile shipped as `stedi_assets/profiles/<name>.json`, or the path of such a file."""
    shipped = resources.files("stedi_assets.profiles") / f"{name.replace('-', '_')}.json"
    return json.loads((shipped if shipped.is_file() else Path(name)).read_text())


def options_column(options: StediOptions) -> str:
    """The profile column for the options in force, named as in the contract's count table."""
    changed = [f"ml_join={options.ml_join}"] if options.ml_join != "customer" else []
    changed += ["consent_cutoff=on"] if options.consent_cutoff else []
    return "+".join(changed) or "default"


def expected_count_check(table: TableSpec, profile_name: str) -> dg.AssetChecksDefinition:
    @dg.asset_check(
        asset=table.name,
        name="expected_row_count",
        description=f"The whole table holds the row count that profile '{profile_name}' declares for the "
        "options in force. A failure on data the profile describes means the pipeline changed meaning.",
    )
    def _check(
        pyspark: PySparkResource, lake: dg.ResourceParam[Lake], options: dg.ResourceParam[StediOptions]
    ) -> dg.AssetCheckResult:
        expected = load_profile(profile_name)["counts"].get(options_column(options), {}).get(table.name)
        actual = lake.read(pyspark.spark_session, table).count()
        return dg.AssetCheckResult(
            passed=expected is not None and actual == expected,
            metadata={
                "expected": expected,
                "actual": actual,
                "profile": profile_name,
                "options": options_column(options),
            },
        )

    return _check
