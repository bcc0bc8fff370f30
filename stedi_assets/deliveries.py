"""Deliveries: one source's landing files on one ingest date, judged by how many of their lines are bad.

A delivery is *broken* when its lines show, with 95% confidence, a bad share above the error rate: the lower
bound of the Wilson score interval of its quarantined share is above `ERROR_RATE`. It *warns* when
that bound is above `WARN_RATE`. So 14 bad lines of 14 are broken, while 2 of 15 only warn (the
interval is wide on a few lines), and 3 of 10,000 pass. Why Wilson: docs/data-semantics.md.

A broken delivery is *held*: its lines stay in the landing and quarantine tables, but the trusted builds leave
its valid rows out until a person releases it (`release`) or new files for that date make it no longer
broken. The verdict and the release live in the landing table's partition state (`Lake`), committed with the
lake, so every run, retry, Dagster instance and AWS job sees the same holds.
"""

import math
from dataclasses import dataclass
from datetime import datetime, timezone

from stedi_assets.lake.iceberg_tables import Lake, Pinned
from stedi_assets.schemas.tables import LANDING_TABLES, QUARANTINE_TABLES

CONFIDENCE_Z = 1.959964  # two-sided 95%
OK, WARN, BROKEN = "ok", "warn", "broken"
DELIVERY = "delivery"  # the landing state's entry of a date's verdict: quarantined, verdict, reasons, released
COMMON_REASONS = 3
WARN_RATE = 0.01  # a delivery whose bad share is, with confidence, above this warns...
ERROR_RATE = 0.10  # ... and above this is broken: held


def bad_share_lower_bound(bad: int, lines: int, z: float = CONFIDENCE_Z) -> float:
    """The lower bound of the Wilson score interval of `bad` out of `lines` (0 for no lines)."""
    if not lines:
        return 0.0
    share = bad / lines  # at most 1: both counts come from one tally of the parse
    spread = z * math.sqrt(share * (1 - share) / lines + z * z / (4 * lines * lines))
    return max(0.0, (share + z * z / (2 * lines) - spread) / (1 + z * z / lines))


def verdict(bad: int, lines: int) -> str:
    bound = bad_share_lower_bound(bad, lines)
    return BROKEN if bound > ERROR_RATE else WARN if bound > WARN_RATE else OK


@dataclass(frozen=True)
class Delivery:
    """A delivery as the lake records it (from its landing table's partition state)."""

    source: str
    date: str
    lines: int
    quarantined: int
    verdict: str
    reasons: list  # [[reason, lines], ...], the commonest first
    released: dict | None  # {"by": ..., "at": ...}

    @property
    def held(self) -> bool:
        return self.verdict == BROKEN and not self.released

    def summary(self) -> str:
        common = "; ".join(f"{count} x {reason}" for reason, count in self.reasons)
        return f"{self.quarantined} of {self.lines} lines quarantined ({self.quarantined / max(self.lines, 1):.0%})" + (
            f"; commonest: {common}" if common else ""
        )


def delivery_of(source: str, date: str, entry: dict) -> Delivery:
    judged = entry.get(DELIVERY, {})
    return Delivery(
        source,
        date,
        entry.get("lines_landed", 0),
        judged.get("quarantined", 0),
        judged.get("verdict", OK),
        judged.get("reasons", []),
        judged.get("released"),
    )


def deliveries(source: str, landing_state: dict[str, dict]) -> list[Delivery]:
    return [delivery_of(source, date, entry) for date, entry in sorted(landing_state.items())]


def held_dates(source: str, landing_state: dict[str, dict]) -> list[str]:
    return [delivery.date for delivery in deliveries(source, landing_state) if delivery.held]


def held_deliveries(pins: dict[str, Pinned]) -> list[Delivery]:
    """Every held delivery in the landing tables' state (`pins`: the tables as they are now, by name, as
    `Lake.pins` reads them; the landing tables at least)."""
    return [
        delivery
        for source, table in LANDING_TABLES.items()
        for delivery in deliveries(source, pins[table.name].state)
        if delivery.held
    ]


def release_command(lake_root: str, delivery: Delivery) -> str:
    return f"stedi release --lake {lake_root} --source {delivery.source} --date {delivery.date}"


def hold_line(lake_root: str, delivery: Delivery) -> str:
    """One line a person can act on: what is held, why, and how to release it."""
    return (
        f"HELD {delivery.source} {delivery.date}: {delivery.summary()}. Its valid rows stay out of the trusted "
        f"and curated tables. Replay fixed lines in a new file of that date, or release it: "
        f"{release_command(lake_root, delivery)}"
    )


def inspect_hint(lake_root: str, delivery: Delivery) -> str:
    quarantine = QUARANTINE_TABLES[delivery.source].name
    return (
        f'stedi query --lake {lake_root} "SELECT reason, count(*) FROM {quarantine} '
        f"WHERE ingest_date = '{delivery.date}' GROUP BY 1 ORDER BY 2 DESC\""
    )


class NotHeld(ValueError):
    """A release of a delivery that is not held."""


def release(lake: Lake, source: str, date: str, by: str) -> Delivery:
    """Record in the lake that `by` released the held delivery: a commit of the landing table's state alone,
    whose snapshot summary says who and when. The next run takes its valid rows downstream."""
    released = {"by": by, "at": datetime.now(timezone.utc).isoformat(timespec="seconds")}

    def mark_released(state: dict[str, dict]) -> dict[str, dict]:
        if date not in state:
            raise NotHeld(f"the lake at {lake.root} has no {source} delivery on {date}")
        delivery = delivery_of(source, date, state[date])
        if not delivery.held:
            why = "was released already" if delivery.released else f"is not held (its verdict: {delivery.verdict})"
            raise NotHeld(f"the {source} delivery of {date} {why}")
        return {date: {**state[date], DELIVERY: {**state[date][DELIVERY], "released": released}}}

    state = lake.amend_state(
        LANDING_TABLES[source], mark_released, {"stedi.released": f"{source} {date} by {by} at {released['at']}"}
    )
    return delivery_of(source, date, state[date])
