"""What the lake remembers per partition, committed with the data as Iceberg snapshot summary properties.

Per ingest date: rows, a content digest, measures, and what the caller keeps beside them (e.g. the
fingerprint of the inputs it was computed from). Each commit carries the table's whole state
(`stedi.state`), the snapshot it was computed from (`stedi.base`) and the partitions it set
(`stedi.written`), so the state is read from one snapshot and changes atomically with the data. A derived
table's commit also says what the whole table was built from (`stedi.built_from`: its inputs' snapshots, its
code version and options), so whoever reads the lake knows whether it is up to date without computing it.

Iceberg re-applies a commit on top of a concurrent one that touched other partitions (a conflict in
the same partitions fails it with `ConcurrentWrite`: see `Lake.replace_partitions`). Such a commit's parent is not
its base, and its state is then its parent's state with only its own partitions replaced.
"""

import json
from collections.abc import Mapping

STATE, BASE, WRITTEN, BUILT_FROM = "stedi.state", "stedi.base", "stedi.written", "stedi.built_from"
NO_SNAPSHOT = "none"


def _json(value) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def summary_properties(
    state: dict[str, dict], base: int | None, written: list[str], built_from: dict | None = None
) -> dict[str, str]:
    properties = {STATE: _json(state), BASE: str(base or NO_SNAPSHOT), WRITTEN: json.dumps(sorted(written))}
    if built_from is not None:
        properties[BUILT_FROM] = _json(built_from)
    return properties


def rows_of(state: dict[str, dict]) -> int:
    """The rows of the whole table: its partitions' rows, from its state."""
    return sum(entry.get("rows", 0) for entry in state.values())


def built_from_at(snapshot_id: int | None, snapshots: Mapping[int, tuple[int | None, Mapping[str, str]]]) -> dict:
    """What the table was last built from, as of `snapshot_id` (empty: unknown). Snapshots without a state
    (Iceberg's own maintenance) pass their parent's on. A commit Iceberg re-applied on top of another writer's
    says nothing of the whole table, which the other writer built from other inputs or options: unknown."""
    while snapshot_id is not None and snapshot_id in snapshots:
        parent, summary = snapshots[snapshot_id]
        if STATE in summary:
            rebased = summary.get(BASE) != str(parent or NO_SNAPSHOT)
            return {} if rebased else json.loads(summary.get(BUILT_FROM, "{}"))
        snapshot_id = parent
    return {}


def state_at(snapshot_id: int | None, snapshots: Mapping[int, tuple[int | None, Mapping[str, str]]]) -> dict:
    """The partition state as of `snapshot_id`, from `snapshots` (id -> parent id and summary).

    Snapshots without a state (written by Iceberg's own maintenance) pass their parent's on. A partition
    whose entry was only in an expired snapshot is missing: its caller then recomputes it."""
    newer: dict[str, dict] = {}  # entries set by rebased commits, the newest first
    while snapshot_id is not None and snapshot_id in snapshots:
        parent, summary = snapshots[snapshot_id]
        if STATE in summary:
            own = json.loads(summary[STATE])
            if summary.get(BASE) == str(parent or NO_SNAPSHOT):
                return {**own, **newer}
            newer = {**{key: own[key] for key in json.loads(summary.get(WRITTEN, "[]")) if key in own}, **newer}
        snapshot_id = parent
    return newer
