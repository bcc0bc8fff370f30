"""What every zone asset shares: its spec and check specs from the table spec, and how a step's
outcomes become Dagster results."""

import dagster as dg

from stedi_assets.checks.count_checks import CountCheck, not_empty
from stedi_assets.checks.schema import SCHEMA_CHECK, SCHEMA_CHECK_DESCRIPTION
from stedi_assets.code_versions import CODE_VERSIONS
from stedi_assets.lake.conflicts import RETRIES, RETRY_AFTER_SECONDS, lost_a_race
from stedi_assets.partitions import ingest_date_partitions, single_run
from stedi_assets.schemas.lineage import column_lineage
from stedi_assets.schemas.tables import TableSpec
from stedi_assets.steps.outcome import PER_PARTITION, SNAPSHOT_ID, TableOutcome
from stedi_assets.zones.metadata import metadata

OWNERS = ["team:stedi-data-platform"]
STEPS_RESOURCE = "zone_steps"


def column_schema(table: TableSpec) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(
                c.name,
                c.spark_type.simpleString(),
                description=c.description,
                constraints=dg.TableColumnConstraints(nullable=c.nullable),
            )
            for c in table.columns
        ]
    )


def asset_spec(table: TableSpec, group: str, deps=()) -> dg.AssetSpec:
    lineage = column_lineage(table)
    return dg.AssetSpec(
        table.name,
        group_name=group,
        description=table.description,
        deps=deps,
        owners=OWNERS,
        kinds={"spark", "iceberg"},
        code_version=CODE_VERSIONS[table.name],
        metadata={
            "dagster/column_schema": column_schema(table),
            **({"dagster/column_lineage": lineage} if lineage else {}),
            "zone": table.zone,
        },
        partitions_def=ingest_date_partitions,
    )


def check_specs(table: TableSpec, *count_checks: CountCheck) -> list[dg.AssetCheckSpec]:
    """The schema check and the given count checks. A blocking check that fails with ERROR stops downstream."""
    key = dg.AssetKey(table.name)
    return [
        dg.AssetCheckSpec(name, asset=key, blocking=blocking, description=description)
        for name, description, blocking in [
            (SCHEMA_CHECK, SCHEMA_CHECK_DESCRIPTION, True),
            *((check.name, check.description, check.blocking) for check in count_checks),
        ]
    ]


def all_partitions_of(*tables: TableSpec) -> list[dg.AssetDep]:
    """Dependencies on whole upstream tables: consent and de-duplication look across all ingest dates."""
    return [dg.AssetDep(t.name, partition_mapping=dg.AllPartitionMapping()) for t in tables]


def step_asset(step: str, specs: list[dg.AssetSpec], checks: list[dg.AssetCheckSpec], resource_keys: set[str]):
    """The asset (or multi-asset) of one step: a range of dates per run, run by the `zone_steps` resource."""

    @dg.multi_asset(
        name=step,
        specs=specs,
        check_specs=checks,
        partitions_def=ingest_date_partitions,
        backfill_policy=single_run,
        required_resource_keys={STEPS_RESOURCE, *resource_keys},
    )
    def _step(context: dg.AssetExecutionContext):
        try:
            run_partitions = set(context.partition_keys)
            for result in getattr(context.resources, STEPS_RESOURCE).run(context, step):
                yield from with_metadata_per_partition(context, run_partitions, result)
        except Exception as error:
            if lost_a_race(error):  # computed again from the tables as they are now, by Dagster's step retry
                raise dg.RetryRequested(max_retries=RETRIES, seconds_to_wait=RETRY_AFTER_SECONDS) from error
            raise

    return _step


def table_asset(table: TableSpec, deps: list[dg.AssetDep], resource_keys: set[str], *count_checks: CountCheck):
    """The asset of a step that writes one table: it is named after the table, in the table's zone group."""
    spec = asset_spec(table, table.zone, deps)
    return step_asset(table.name, [spec], check_specs(table, not_empty, *count_checks), resource_keys)


SHARED_WITH_PARTITIONS_BEYOND_RUN = ("dagster/row_count", "dagster/table_name", "dagster/uri", SNAPSHOT_ID)


def with_metadata_per_partition(context: dg.AssetExecutionContext, run_partitions: set[str], result):
    """A step's result (from a local or a remote step), its `PER_PARTITION` values given to each partition's
    materialization: through `add_asset_metadata` for the run's partitions, and as a materialization of its
    own for each partition outside the run that the step rewrote (e.g. older partitions of a customer whose
    consent changed)."""
    if not isinstance(result, dg.MaterializeResult) or PER_PARTITION not in (result.metadata or {}):
        yield result
        return
    shared = dict(result.metadata)
    per_partition = shared.pop(PER_PARTITION).value
    for partition, values in per_partition.items():
        if partition in run_partitions:
            context.add_asset_metadata(metadata(values), asset_key=result.asset_key, partition_key=partition)
        else:
            beyond_run = {name: shared[name] for name in SHARED_WITH_PARTITIONS_BEYOND_RUN if name in shared}
            yield dg.AssetMaterialization(
                result.asset_key, partition=partition, metadata={**beyond_run, **metadata(values)}
            )
    yield result._replace(metadata=shared)


def dagster_results(outcomes: list[TableOutcome]):
    """A step's outcomes as one `MaterializeResult` per table, carrying its check results."""
    for outcome in outcomes:
        key = dg.AssetKey(outcome.table)
        checks = [
            dg.AssetCheckResult(
                asset_key=key,
                check_name=check.name,
                passed=check.passed,
                severity=dg.AssetCheckSeverity(check.severity),
                metadata=metadata(check.metadata),
            )
            for check in outcome.checks
        ]
        yield dg.MaterializeResult(asset_key=key, metadata=metadata(outcome.metadata), check_results=checks)
