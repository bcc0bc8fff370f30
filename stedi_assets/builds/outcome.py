"""What a build leaves, in plain Python: the tables it published, what its checks found, and what it reports.
The same values reach Dagster from a local run (as `MaterializeResult`) and from a Glue or EMR job (through
dagster-pipes). Below both the checks and the build runner: both use these types."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stedi_assets.lake.partition_state import rows_of

if TYPE_CHECKING:  # types only: the instance imports this module, and needs no Spark
    from pyspark.sql import DataFrame

    from stedi_assets.options import StediOptions
    from stedi_assets.schemas.tables import TableSpec


class Markdown(str):
    """Metadata text to render as Markdown."""


class Location(str):
    """Metadata text that is a path or URI (Dagster offers to copy it)."""


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    severity: str = "ERROR"  # or "WARN"
    metadata: dict = field(default_factory=dict)


# The metadata key of what a build tells per partition (`{partition: {name: value}}`), for the run's partitions and
# any other partition it rewrote. Dagster's side (`assets.py`) gives each run partition's materialization
# its own values (not the whole table's map on every partition), and records a materialization of each partition
# outside the run, so partition status stays true.
PER_PARTITION = "per_partition"


@dataclass(frozen=True)
class Published:
    """A table after a write: the whole table and its rewritten partitions as stored, a few of the rows
    written (`sample`), row counts of the run's partitions, every partition's state after the write, what to
    tell of each partition the run targets or the write rewrote (rows and measures), and the rows of the
    rewritten partitions that break each value rule."""

    table: TableSpec
    stored: DataFrame
    rows: DataFrame
    sample: list
    rows_by_partition: dict[str, int]
    state: dict[str, dict]
    rewritten: list[str]
    partitions: dict[str, dict]
    identifier: str
    location: str
    snapshot_id: int | None
    rule_breaks: dict[str, int]

    @property
    def table_rows(self) -> int:
        return rows_of(self.state)


@dataclass(frozen=True)
class Built:
    """One table as its build left it: what its checks are computed from. `recomputed`: the partitions the
    build computed; `metadata`: the build's own values for the table's materialization; `per_partition`: its
    own values for some partitions' materializations."""

    published: Published
    recomputed: list[str]
    options: StediOptions
    metadata: dict = field(default_factory=dict)
    per_partition: dict[str, dict] = field(default_factory=dict)


@dataclass(frozen=True)
class TableOutcome:
    table: str
    metadata: dict
    checks: list[CheckOutcome]


def partition_metadata(state: dict, rules) -> dict:
    """What one partition's materialization tells, from its state: its rows, its measures, and the value rules
    (`rules`: their names) its rows break (only those broken)."""
    measures = state.get("measures", {})
    broken = {rule: measures[rule] for rule in rules if measures.get(rule)}
    return {
        "dagster/partition_row_count": state.get("rows", 0),
        **{name: value for name, value in measures.items() if name not in rules},
        **({"rows_breaking_rules": broken} if broken else {}),
    }


SNAPSHOT_ID = "iceberg_snapshot_id"  # the lake's snapshot a materialization describes


def whole_table(rows: int, identifier: str, location: str, snapshot_id: int | None) -> dict:
    """What a table's materialization tells of the whole table (numeric `dagster/row_count` is plotted over
    time, and the asset page shows it): which Iceberg table and snapshot, where its files are, how many rows."""
    values = {"dagster/row_count": rows, "dagster/table_name": identifier, "dagster/uri": Location(location)}
    if snapshot_id is not None:
        values[SNAPSHOT_ID] = str(snapshot_id)  # 64 bits: as text, exactly
    return values


_TYPES = [(Markdown, "md"), (Location, "path"), (bool, "bool"), (int, "int"), (float, "float"), (str, "text")]


def typed_metadata(values: dict) -> dict[str, dict]:
    """Metadata values in dagster-pipes' typed form, `{"raw_value": ..., "type": ...}`: what the remote
    script reports, and what a local run turns into Dagster's metadata values (`asset_metadata.py`)."""
    return {name: _typed(name, value) for name, value in values.items()}


def _typed(name: str, value) -> dict:
    if isinstance(value, (dict, list)):
        return {"raw_value": value, "type": "json"}
    if value is None:
        return {"raw_value": None, "type": "null"}
    for kind, type_name in _TYPES:  # subclasses first: a Markdown is a str, a bool is an int
        if isinstance(value, kind):
            return {"raw_value": str(value) if isinstance(value, str) else value, "type": type_name}
    raise TypeError(f"metadata {name!r}: {type(value).__name__} is not a metadata type (use str, number, dict, list)")
