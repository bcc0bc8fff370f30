"""What the lake remembers per partition, committed with the data as Iceberg snapshot summary properties.

Per ingest date: rows, a content digest, measures, and what the caller keeps beside them (e.g. the
fingerprint of the inputs it was computed from). Each commit carries the table's whole state
(`stedi.state`), the snapshot it was computed from (`stedi.base`) and the partitions it set
(`stedi.written`), so the state is read from one snapshot and changes atomically with the data.

Iceberg re-applies a commit on top of a concurrent one that touched other partitions (a conflict in
the same partitions fails it with `ConcurrentWrite`: see `Lake.replace_partitions`). Such a commit's parent is not
its base, and its state is then its parent's state with only its own partitions replaced.
"""

import json
from collections.abc import Mapping

STATE, BASE, WRITTEN = "stedi.state", "stedi.base", "stedi.written"
NO_SNAPSHOT = "none"


def summary_properties(state: dict[str, dict], base: int | None, written: list[str]) -> dict[str, str]:
    return {
        STATE: json.dumps(state, sort_keys=True, separators=(",", ":")),
        BASE: str(base or NO_SNAPSHOT),
        WRITTEN: json.dumps(sorted(written)),
    }


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
