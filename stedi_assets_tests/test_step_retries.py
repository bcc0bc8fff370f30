"""A step whose write lost a race is computed again by Dagster's step retry, from the tables as they are now.

The race is real: right after the step pins `customer_landing`, another writer replaces the partition the
step is about to rewrite, and Iceberg's validation fails the step's commit.
"""

from dataclasses import dataclass
from pathlib import Path

import dagster as dg
from pyspark.sql import SparkSession

from stedi_assets.definitions import build_definitions
from stedi_assets.jobs import partition_range_tags
from stedi_assets.lake.iceberg_tables import Lake, Pinned
from stedi_assets.partitions import ingest_date_partitions
from stedi_assets.resources import local_resources
from stedi_assets.sample import write_sample_landing
from stedi_assets.schemas.tables import LANDING_TABLES, QUARANTINE_TABLES, TableSpec
from stedi_assets_tests.lake_contents import lake_table, table_rows

CUSTOMERS = LANDING_TABLES["customer"]
DATE = "2024-01-01"


@dataclass(frozen=True)
class LakeWithARivalWriter(Lake):
    """The lake, where another writer replaces `customer_landing`'s partition just after the first step that
    pins the table (the marker file says it already happened)."""

    raced_marker: str = ""

    def pin(self, table: TableSpec) -> Pinned:
        pinned = super().pin(table)
        marker = Path(self.raced_marker)
        if table == CUSTOMERS and not marker.exists():
            marker.touch()
            rival = Lake(self.root, self.namespace)
            one_row = rival.read(SparkSession.getActiveSession(), CUSTOMERS).where(f"ingest_date = '{DATE}'").limit(1)
            rival.replace_partitions(one_row, CUSTOMERS, [DATE], {DATE: {"written_by": "rival"}})
        return pinned


def run_customer_landing(landing: Path, lake: Lake) -> dg.ExecuteInProcessResult:
    resources = {**local_resources(str(landing), lake.root, pseudonym_key="test-key"), "lake": lake}
    with dg.DagsterInstance.ephemeral() as instance:
        instance.add_dynamic_partitions(ingest_date_partitions.name, [DATE])
        return (
            build_definitions(resources)
            .resolve_job_def("all_zones")
            .execute_in_process(
                instance=instance,
                tags=partition_range_tags([DATE]),
                asset_selection=[dg.AssetKey(CUSTOMERS.name), dg.AssetKey(QUARANTINE_TABLES["customer"].name)],
                raise_on_error=False,
            )
        )


def retries(result: dg.ExecuteInProcessResult) -> list[str]:
    return [event.step_key for event in result.all_events if event.event_type_value == "STEP_UP_FOR_RETRY"]


def test_a_step_that_lost_a_race_is_retried_and_writes_from_the_current_tables(spark, tmp_path):
    landing = tmp_path / "landing"
    write_sample_landing(landing, customers=12, ingest_dates=1)
    lake = tmp_path / "lake"
    assert run_customer_landing(landing, Lake(str(lake))).success

    # A line added to the day's file: the step must parse the partition again, and the rival writes first.
    customer_file = next((landing / "customer" / "landing" / f"ingest_date={DATE}").iterdir())
    first_line = customer_file.read_text().splitlines()[0]
    with customer_file.open("a") as appended:
        appended.write(first_line.replace('"email": "', '"email": "again.') + "\n")
    marker = tmp_path / "raced"
    result = run_customer_landing(landing, LakeWithARivalWriter(str(lake), raced_marker=str(marker)))

    assert marker.exists()  # the rival wrote
    assert result.success
    assert retries(result) == ["customer_landing_zone"]  # the first attempt's commit failed, once
    failure = next(e for e in result.all_events if e.event_type_value == "STEP_UP_FOR_RETRY")
    assert "ConcurrentWrite" in str(failure.event_specific_data.error)
    # What is stored is what a run without a rival gives, not the rival's one row.
    rebuilt = tmp_path / "rebuilt"
    assert run_customer_landing(landing, Lake(str(rebuilt))).success
    assert lake_table(lake, CUSTOMERS.name) == lake_table(rebuilt, CUSTOMERS.name)
    assert any(row["email"].startswith("again.") for row in table_rows(lake, CUSTOMERS.name))


def test_any_other_failure_is_not_retried(spark, tmp_path):
    result = run_customer_landing(tmp_path / "no-landing-here", Lake(str(tmp_path / "lake")))
    failed = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert [e.step_key for e in failed] == ["customer_landing_zone"]  # the step itself failed, once
    assert "no-landing-here" in str(failed[0].event_specific_data.error)
    assert retries(result) == []
