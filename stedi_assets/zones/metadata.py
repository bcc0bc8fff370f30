"""A step's metadata values as Dagster's: the same typing a remote run's values get through dagster-pipes
(`typed_metadata`). A module of its own, light to import: the instance learns the lake with it
(`instance.py`) on `stedi materialize`'s quick path."""

import dagster as dg

from stedi_assets.steps.outcome import typed_metadata

METADATA_VALUES = {
    "md": dg.MetadataValue.md,
    "path": dg.MetadataValue.path,
    "json": dg.MetadataValue.json,
    "text": dg.MetadataValue.text,
    "int": dg.MetadataValue.int,
    "float": dg.MetadataValue.float,
    "bool": dg.MetadataValue.bool,
    "null": lambda _: dg.MetadataValue.null(),
}


def metadata(values: dict) -> dict[str, dg.MetadataValue]:
    """The same typing a remote run's values get through dagster-pipes (`typed_metadata`)."""
    return {name: METADATA_VALUES[t["type"]](t["raw_value"]) for name, t in typed_metadata(values).items()}
