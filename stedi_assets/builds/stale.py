"""Which partitions of a derived table may differ from what is stored: only those are recomputed.

Each partition's state keeps a fingerprint of everything its rows were computed from; a run
recomputes the partitions whose fingerprint changed (all of them on a table's first run). What a
partition at ingest date P is computed from:

- a trusted readings table: the landing partitions up to P (a reading belongs to the first date it
  landed in) and the consent of each customer or device with readings landed on P;
- machine_learning_curated: step_trainer_trusted at P, the owners of its devices, and the
  accelerometer_trusted partitions whose readings overlap P's step readings in time;
- customer_trusted and customer_curated, computed whole: every partition of their inputs that has rows.

Consent is fingerprinted per date from a scan of two columns joined with the small customer
table, far cheaper than recomputing the readings themselves, and only for the dates that need it
(`per_date_digests`). The code of the transforms is part of every fingerprint, as its table's code
version (`Table.code_version`, in the table's module).
"""

import hashlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from stedi_assets.lake.iceberg_tables import Lake, Pinned, partition_digests
from stedi_assets.schemas.tables import PARTITION_COLUMN, TableSpec

INPUTS = "inputs"  # the state entry holding a partition's input fingerprint


def inputs_fingerprint(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()[:32]


def reading_span(time_column: str) -> dict[str, Column]:
    """Measures kept in a readings table's state: the time its partition's readings span."""
    return {"first_reading": F.min(time_column), "last_reading": F.max(time_column)}


def digests_by_date(rows: DataFrame) -> dict[str, str]:
    """Content digest of `rows` per ingest date, from one aggregation."""
    digests, _ = partition_digests(rows, {})
    return {key: entry["digest"] for key, entry in digests.items()}


def unchanged_since_built(lake: Lake, other: TableSpec, pinned: Pinned, building_from: dict | None) -> bool:
    """Whether the input `other` holds the rows it held when the table (as `pinned` found it) was last built, and
    the table's code is the same: `other`'s partition digests at the snapshot the table's last build recorded,
    against those at the snapshot it is built from now (`building_from`, from `build.built_from`). Rows, not
    snapshots: a delivery without customer files still commits a new snapshot of the customers' tables (its new
    date's partition, without rows). False when either is unknown (a snapshot expired, a build that failed)."""
    if not building_from or pinned.built_from.get("code_version") != building_from["code_version"]:
        return False
    snapshots = [built.get("input_snapshots", {}).get(other.name) for built in (pinned.built_from, building_from)]
    if None in snapshots:
        return False
    then, now = lake.states_at(other, [None if snapshot == "None" else int(snapshot) for snapshot in snapshots])
    return then is not None and now is not None and digests_with_rows(then) == digests_with_rows(now)


def may_hold_rows(entry: dict | None) -> bool:
    """Whether a partition, by its state `entry`, may hold rows: only an entry that says 0 rows rules it out (a
    partition without an entry, a held delivery's or one lost with an expired snapshot, may)."""
    return (entry or {}).get("rows") != 0


def digests_with_rows(state: dict[str, dict]) -> dict[str, str | None]:
    """The digest of each partition in an input's `state` that may hold rows: a partition without rows adds none
    to what is computed from it."""
    return {key: entry.get("digest") for key, entry in state.items() if may_hold_rows(entry)}


def per_date_digests(
    name: str,
    rows: Callable[[DataFrame], DataFrame],
    own: DataFrame,
    own_state: dict[str, dict],
    keys: list[str],
    pinned: Pinned,
    reusable: bool,
) -> tuple[dict[str, str | None], dict[str, dict]]:
    """Per date among `keys`, the digest of `rows(own)`: rows computed from one input (`own`, per ingest date, with
    its partitions' state `own_state`) and another read whole, e.g. each date's readers and their consent. None:
    no rows that date. Also, per date, the state entry (`name`) that keeps the digest and the own partition's
    digest it was computed from.

    With `reusable` (the other input and the code unchanged since the table, as `pinned` found it, was built:
    `unchanged_since_built`), computed only for the dates whose own partition changed since their entry was kept:
    a delivery of readings scans its own dates, not every date of the lake. A kept digest is exact: when the
    other input changes, every date is computed, and a date whose digest changed is stale, so its entry is
    written again with its rows; the others' entries stay true."""

    def own_digest(key: str) -> str | None:
        return own_state.get(key, {}).get("digest")

    kept = {
        key: entry["digest"]
        for key in keys
        if reusable and (entry := pinned.state.get(key, {}).get(name)) and entry["of"] == own_digest(key)
    }
    # A date whose own partition holds no rows has no rows to digest: a delivery of one source asks no job of another.
    missing = [key for key in keys if key not in kept and may_hold_rows(own_state.get(key))]
    computed = digests_by_date(rows(own.where(F.col(PARTITION_COLUMN).isin(missing)))) if missing else {}
    digests = {key: kept[key] if key in kept else computed.get(key) for key in keys}
    return digests, {key: {name: {"digest": digests[key], "of": own_digest(key)}} for key in keys}


def rows_in(state: dict[str, dict], keys: list[str]) -> bool:
    """Whether any of the partitions `keys` may hold rows in `state`, the state of an input whose rows at a date
    are the only source of a table's rows at that date. When each says it has none, the table's partitions there
    hold none either, known without computing them (`publish` with no rows)."""
    return any(may_hold_rows(state.get(key)) for key in keys)


def landed_up_to(landing_state: dict[str, dict], keys: list[str]) -> dict[str, str]:
    """Per date, a fingerprint of the landing partitions up to and including it."""
    chained, running = {}, ""
    for key in sorted(set(landing_state) | set(keys)):
        running = inputs_fingerprint(running, key, landing_state.get(key, {}).get("digest"))
        chained[key] = running
    return chained


def span_of(state: dict) -> tuple | None:
    """The time a partition's readings span, from its state (None: no rows). A partition with rows but
    no span kept (written before spans were) spans all time."""
    if not state.get("rows"):
        return None
    measures = state.get("measures", {})
    return measures.get("first_reading", float("-inf")), measures.get("last_reading", float("inf"))


def span_of_all(states: dict[str, dict], keys: list[str]) -> tuple | None:
    """The time the readings of the partitions `keys` span together, from their states (None: none has rows)."""
    spans = [span for key in keys if (span := span_of(states.get(key, {})))]
    return (min(first for first, _ in spans), max(last for _, last in spans)) if spans else None


def kept_span(states: dict[str, dict], keys: list[str]) -> tuple | None:
    """`span_of_all`, when every partition with rows among `keys` keeps its span in its state (None: unknown)."""
    span = span_of_all(states, keys)
    return span if span and all(math.isfinite(time) for time in span) else None


def overlapping(entry: dict, states: dict[str, dict]) -> list[str]:
    """The partitions in `states` whose readings' time span overlaps that of the partition `entry`."""
    own = span_of(entry)
    if own is None:
        return []
    return sorted(
        key for key, state in states.items() if (other := span_of(state)) and other[0] <= own[1] and own[0] <= other[1]
    )


@dataclass(frozen=True)
class Stale:
    """The partitions to recompute, and every partition's input fingerprint to keep in its state."""

    keys: list[str]
    inputs: dict[str, str]

    def extra_state(self, entries: dict[str, dict] | None = None) -> dict[str, dict]:
        """What to keep in each recomputed partition's state: its input fingerprint, and its `entries`."""
        return {key: {INPUTS: self.inputs[key], **(entries or {}).get(key, {})} for key in self.keys}

    def of_all(self, keys: list[str]) -> bool:
        return set(self.keys) >= set(keys)


def stale_partitions(
    code_version: str, stored_state: dict[str, dict], keys: list[str], inputs: dict[str, tuple]
) -> Stale:
    """The partitions among `keys` whose inputs (per key, the parts to fingerprint) or whose table's
    `code_version` changed since `stored_state`."""
    fingerprints = {key: inputs_fingerprint(*inputs[key], code_version) for key in keys}
    return Stale([key for key in keys if stored_state.get(key, {}).get(INPUTS) != fingerprints[key]], fingerprints)


def stale_whole_table(code_version: str, stored_state: dict[str, dict], keys: list[str], *input_states: dict) -> Stale:
    """For a table computed whole (one row per customer, any ingest date can move a row): every partition,
    when the rows of any input (`input_states`: the inputs' states) or the code version changed; else none
    but the partitions never computed. A partition without rows adds no row: a new date that brought no file
    of an input's source recomputes nothing but itself."""
    digests = tuple(digests_with_rows(state) for state in input_states)
    return stale_partitions(code_version, stored_state, keys, {key: digests for key in keys})
