"""Count checks: each says what a failure means, so the UI tells the reader what to do."""

import dagster as dg

COUNT_CHECKS = {
    "not_empty": "The table holds at least one row. Empty means no landing data reached it: "
    "check the landing root and the upstream checks.",
    "lines_accounted_for": "Per ingest date, valid + quarantined = non-blank lines landed (counted "
    "independently by Spark's text reader). A failure means a line was lost or invented: a bug, not bad data.",
    "not_more_than_landing": "The trusted table holds no more rows than the distinct records of its "
    "landing source. More means the consent join duplicated rows.",
    "one_row_per_customer": "Exactly one row per customer key (email, trimmed, lower-cased). "
    "Duplicates mean a stale customer state survived: re-materialize every partition of the table.",
    "no_personal_columns": "No email, name, phone, birth day or user column: data scientists must not "
    "receive direct personal data.",
    "cross_customer_pairs": "Rows pairing one customer's step trainer with another customer's "
    "accelerometer reading. Must be 0 with ml_join=customer; reported as a WARN with ml_join=timestamp.",
}


def count_check_specs(asset_key: dg.AssetKey, *names: str) -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(name, asset=asset_key, blocking=True, description=COUNT_CHECKS[name])
        for name in names
    ]


def count_check(
    asset_key: dg.AssetKey,
    name: str,
    passed: bool,
    severity: dg.AssetCheckSeverity = dg.AssetCheckSeverity.ERROR,
    **metadata,
) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        asset_key=asset_key, check_name=name, passed=bool(passed), severity=severity, metadata=metadata
    )
