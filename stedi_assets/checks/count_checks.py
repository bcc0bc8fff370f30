"""Count checks, each in one place: its name, what a failure means (the UI shows it, so the reader knows what
to do), its severity and its computation. Assets declare them by these objects (`zones/`), steps compute them
(`steps/`)."""

from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import functions as F

from stedi_assets.deliveries import WARN, deliveries, release_command
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
    blocking: bool = True  # a failed ERROR stops the downstream tables

    def __call__(self, *args) -> CheckOutcome:
        passed, metadata, *severity = self.compute(*args)
        return CheckOutcome(self.name, bool(passed), severity[0] if severity else self.severity, metadata)


def count_check(name: str, description: str, severity: str = "ERROR", blocking: bool = True):
    """Declares the function below as the computation of a count check."""
    return lambda compute: CountCheck(name, description, severity, compute, blocking)


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
    "is one JSON array), as the parse counted them in its one read of the files. A failure means a record was "
    "lost or invented on its way to the tables: a bug, not bad data.",
)
def lines_accounted_for(valid: Published, invalid: Published, lines_landed: dict[str, int]):
    unaccounted = {
        key: lines_landed[key] - valid.rows_by_partition[key] - invalid.rows_by_partition[key]
        for key in valid.rows_by_partition
    }
    return not any(unaccounted.values()), {"lines_landed": lines_landed, "unaccounted_lines": unaccounted}


@count_check(
    "delivery_quality",
    "Each delivery (this source's files of one ingest date) judged by its quarantined lines, with 95% "
    "confidence (a few bad lines in a small delivery are not a broken one). ERROR while any delivery is held: "
    "it is broken (its bad share is above the error rate), so its valid rows stay out of the trusted and "
    "curated tables, while every other delivery flows. The metadata names each held delivery, its commonest "
    "reasons and the command that releases it. WARN when a delivery this run parsed has a bad share above the "
    "warn rate. Look at the quarantine's reasons for that date, then replay fixed lines in a new file of that "
    "date, or release the delivery (`stedi release`, or the release_delivery job).",
    blocking=False,  # a held delivery holds back its own rows only: the other deliveries flow on
)
def delivery_quality(source: str, landing_state: dict[str, dict], parsed: list[str], lake_root: str):
    """Held deliveries are judged over every date (a hold lasts across runs), warnings over the dates parsed."""
    judged = {delivery.date: delivery for delivery in deliveries(source, landing_state)}
    held = [delivery for delivery in judged.values() if delivery.held]
    warned = [judged[date] for date in parsed if judged[date].verdict == WARN]
    metadata = {
        "held": {delivery.date: delivery.summary() for delivery in held},
        "release_with": [release_command(lake_root, delivery) for delivery in held],
        "warned": {delivery.date: delivery.summary() for delivery in warned},
        "released": {d.date: d.released for d in judged.values() if d.released},
    }
    return not held and not warned, metadata, "ERROR" if held else "WARN"


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
