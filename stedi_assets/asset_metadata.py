"""A build's outcomes as Dagster's: metadata values typed as a remote run's are through dagster-pipes
(`typed_metadata`), and results. A module of its own, light to import: the instance learns the lake with it
(`instance.py`) without the builds."""

import dagster as dg

from stedi_assets.builds.outcome import TableOutcome, typed_metadata

METADATA_VALUES = {
    "md": dg.MetadataValue.md,
    "path": dg.MetadataValue.path,
    "json": dg.MetadataValue.json,
    "text": dg.MetadataValue.text,
    "int": dg.MetadataValue.int,
    "float": dg.MetadataValue.float,
    "bool": dg.MetadataValue.bool,
    "null": lambda _: dg.MetadataValue.null(),
}


def metadata(values: dict) -> dict[str, dg.MetadataValue]:
    """The same typing a remote run's values get through dagster-pipes (`typed_metadata`)."""
    return {name: METADATA_VALUES[t["type"]](t["raw_value"]) for name, t in typed_metadata(values).items()}


def dagster_results(outcomes: list[TableOutcome]):
    """A build's outcomes as one `MaterializeResult` per table, carrying its check results."""
    for outcome in outcomes:
        key = dg.AssetKey(outcome.table)
        checks = [
            dg.AssetCheckResult(
                asset_key=key,
                check_name=check.name,
                passed=check.passed,
                severity=dg.AssetCheckSeverity(check.severity),
                metadata=metadata(check.metadata),
            )
            for check in outcome.checks
        ]
        yield dg.MaterializeResult(asset_key=key, metadata=metadata(outcome.metadata), check_results=checks)
