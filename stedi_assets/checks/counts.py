"""Count checks: each says what a failure means, so the UI tells the reader what to do."""

from stedi_assets.checks.outcome import CheckOutcome

COUNT_CHECKS = {
    "not_empty": "The table holds at least one row (a WARN). Empty means no landing data reached it, "
    "or no customer consents yet: check the landing root and the upstream checks.",
    "lines_accounted_for": "Per ingest date, valid + quarantined = records landed (non-blank lines, or the "
    "elements of a file that is one JSON array), counted independently by Spark's own readers. A failure "
    "means a record was lost or invented: a bug, not bad data.",
    "quarantine_rate": "Share of the landed lines that went to quarantine, per ingest date the run parsed "
    "(a bad delivery is not diluted by a clean history). WARN when a date is above the warn threshold, "
    "ERROR (downstream stops) above the error threshold; the metadata names the dates. Look at the "
    "quarantine table's reasons for those dates, fix the export or replay the fixed lines.",
    "readings_distinct": "No reading is stored twice: the rows this run wrote are distinct, and none is "
    "a copy of a reading kept in another ingest date. A copy means a join duplicated rows or an "
    "incremental run recomputed too little: delete the table's folder in the lake and materialize it "
    "again, which computes every partition.",
    "one_row_per_customer": "Exactly one row per customer key (email, trimmed, lower-cased). "
    "Duplicates mean a stale customer state survived: re-materialize every partition of the table.",
    "no_personal_columns": "No email, name, phone, birth day or user column: data scientists must not "
    "receive direct personal data.",
    "cross_customer_pairs": "Rows pairing one customer's step trainer with another customer's "
    "accelerometer reading. Must be 0 with ml_join=customer; reported as a WARN with ml_join=timestamp.",
}


def count_check(name: str, passed: bool, severity: str = "ERROR", **metadata) -> CheckOutcome:
    return CheckOutcome(name, bool(passed), severity, metadata)


def quarantine_rate_check(
    quarantined: dict[str, int], lines_landed: dict[str, int], warn_rate: float, error_rate: float
) -> CheckOutcome:
    """Judged per ingest date (`lines_landed`: the dates the run parsed), as the contract's invariant 6 says."""
    rates = {date: quarantined.get(date, 0) / lines for date, lines in sorted(lines_landed.items()) if lines}
    over_warn = [date for date, rate in rates.items() if rate > warn_rate]
    over_error = [date for date, rate in rates.items() if rate > error_rate]
    return count_check(
        "quarantine_rate",
        not over_warn,
        "ERROR" if over_error else "WARN",
        dates_over_error_rate=over_error,
        dates_over_warn_rate=over_warn,
        worst_rate=max(rates.values(), default=0.0),
        rates_by_date=rates,
        warn_rate=warn_rate,
        error_rate=error_rate,
    )
