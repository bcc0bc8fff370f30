"""Count checks, each in one place: its name, what a failure means (the UI shows it, so the reader knows what
to do), its severity and its computation. Assets declare them by these objects (`zones/`), steps compute them
(`steps/`)."""

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import functions as F

from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.schemas.tables import PARTITION_COLUMN, PERSONAL_COLUMNS
from stedi_assets.steps.outcome import CheckOutcome
from stedi_assets.steps.publish import Published
from stedi_assets.steps.stale import span_of
from stedi_assets.transforms.trusted import customer_key


@dataclass(frozen=True)
class CountCheck:
    """`compute` returns (passed, metadata), or (passed, metadata, severity) when the severity depends on
    the case; `severity` is the one a failure has otherwise (ERROR stops the downstream tables)."""

    name: str
    description: str
    severity: str
    compute: Callable[..., tuple]

    def __call__(self, *args) -> CheckOutcome:
        passed, metadata, *severity = self.compute(*args)
        return CheckOutcome(self.name, bool(passed), severity[0] if severity else self.severity, metadata)


def count_check(name: str, description: str, severity: str = "ERROR"):
    """Declares the function below as the computation of a count check."""
    return lambda compute: CountCheck(name, description, severity, compute)


@count_check(
    "not_empty",
    "The table holds at least one row (a WARN). Empty means no landing data reached it, or no customer "
    "consents yet: check the landing root and the upstream checks.",
    "WARN",  # a table may rightly be empty for a while
)
def not_empty(published: Published):
    return published.table_rows > 0, {"table_rows": published.table_rows}


@count_check(
    "lines_accounted_for",
    "Per ingest date, valid + quarantined = records landed (non-blank lines, or the elements of a file that "
    "is one JSON array), counted independently by Spark's own readers. A failure means a record was lost or "
    "invented: a bug, not bad data.",
)
def lines_accounted_for(valid: Published, invalid: Published, lines_landed: dict[str, int]):
    unaccounted = {
        key: lines_landed[key] - valid.rows_by_partition[key] - invalid.rows_by_partition[key]
        for key in valid.rows_by_partition
    }
    return not any(unaccounted.values()), {"lines_landed": lines_landed, "unaccounted_lines": unaccounted}


@count_check(
    "quarantine_rate",
    "Share of the landed lines that went to quarantine, per ingest date the run parsed (a bad delivery is "
    "not diluted by a clean history). WARN when a date is above the warn threshold, ERROR (downstream stops) "
    "above the error threshold; the metadata names the dates. Look at the quarantine table's reasons for "
    "those dates, fix the export or replay the fixed lines.",
)
def quarantine_rate(quarantined: dict[str, int], lines_landed: dict[str, int], warn_rate: float, error_rate: float):
    """Judged per ingest date (`lines_landed`: the dates the run parsed), as the contract's invariant 6 says."""
    rates = {date: quarantined.get(date, 0) / lines for date, lines in sorted(lines_landed.items()) if lines}
    over_warn = [date for date, rate in rates.items() if rate > warn_rate]
    over_error = [date for date, rate in rates.items() if rate > error_rate]
    metadata = {
        "dates_over_error_rate": over_error,
        "dates_over_warn_rate": over_warn,
        "worst_rate": max(rates.values(), default=0.0),
        "rates_by_date": rates,
        "warn_rate": warn_rate,
        "error_rate": error_rate,
    }
    return not over_warn, metadata, "ERROR" if over_error else "WARN"


@count_check(
    "readings_distinct",
    "No reading is stored twice: the rows this run wrote are distinct, and none is a copy of a reading kept "
    "in another ingest date. A copy means a join duplicated rows or an incremental run recomputed too little: "
    "drop the table (Spark's `DROP TABLE`, or pyiceberg's `drop_table`) and materialize it again, which "
    "computes every partition.",
)
def readings_distinct(lake: Lake, published: Published, time_column: str):
    """Copies share their time, so only the stored rows within the written partitions' time span (kept in
    their state) are grouped, and the reader skips the rest."""
    state = lake.state(published.table)
    spans = [span for key in published.rewritten if (span := span_of(state[key]))]
    copies = 0
    if spans:
        first, last = min(first for first, _ in spans), max(last for _, last in spans)
        nearby = published.stored.where(F.col(time_column).between(first, last))
        readings = nearby.groupBy(*published.table.column_names).agg(
            F.count(F.lit(1)).alias("stored"),
            F.max(F.col(PARTITION_COLUMN).isin(published.rewritten).cast("int")).alias("written"),
        )
        copies = readings.where((F.col("stored") > 1) & (F.col("written") == 1)).count()
    return copies == 0, {"readings_stored_twice": copies, "partitions_checked": len(published.rewritten)}


@count_check(
    "one_row_per_customer",
    "Exactly one row per customer key (email, trimmed, lower-cased). Duplicates mean a stale customer state "
    "survived: re-materialize every partition of the table.",
)
def one_row_per_customer(published: Published):
    customers = published.stored.select(customer_key(F.col("email"))).distinct().count()
    return customers == published.table_rows, {"customers": customers, "table_rows": published.table_rows}


@count_check(
    "no_personal_columns",
    "No email, name, phone, birth day or user column: data scientists must not receive direct personal data.",
)
def no_personal_columns(published: Published):
    personal = sorted(PERSONAL_COLUMNS.intersection(published.rows.columns))
    return not personal, {"personal_columns": personal}


@count_check(
    "cross_customer_pairs",
    "Rows pairing one customer's step trainer with another customer's accelerometer reading. Must be 0 with "
    "ml_join=customer; reported as a WARN with ml_join=timestamp.",
)
def cross_customer_pairs(published: Published, ml_join: str):
    pairs = published.stored.where(F.col("customer_id") != F.col("accelerometer_customer_id")).count()
    severity = "ERROR" if ml_join == "customer" else "WARN"
    return pairs == 0, {"cross_customer_pairs": pairs, "ml_join": ml_join}, severity
