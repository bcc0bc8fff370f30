"""What a table step reports, in plain Python: the same values reach Dagster from a local run
(as `MaterializeResult`) and from a Glue or EMR job (through dagster-pipes)."""

from dataclasses import dataclass, field


class Markdown(str):
    """Metadata text to render as Markdown (other strings are plain text; dicts and lists are JSON)."""


@dataclass(frozen=True)
class CheckOutcome:
    name: str
    passed: bool
    severity: str = "ERROR"  # or "WARN"
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class TableOutcome:
    table: str
    metadata: dict
    checks: list[CheckOutcome]
