import dagster as dg
from dagster._core.storage.tags import ASSET_PARTITION_RANGE_END_TAG, ASSET_PARTITION_RANGE_START_TAG

# Runs that write the lake take turns (dagster.yaml limits runs with this tag to one at a time).
LAKE_WRITER_TAG = {"stedi/lake-writer": "true"}

all_zones_job = dg.define_asset_job(
    "all_zones",
    selection=dg.AssetSelection.all(),
    tags=LAKE_WRITER_TAG,
    description="Every zone table and check, for the selected ingest dates, in one Spark session.",
)


def partition_range_tags(ordered_keys: list[str]) -> dict[str, str]:
    """Tags that make one run cover every ingest date (first to last, in registration order)."""
    return {ASSET_PARTITION_RANGE_START_TAG: ordered_keys[0], ASSET_PARTITION_RANGE_END_TAG: ordered_keys[-1]}
