"""The zones' tables as Dagster assets: each build (`zones.BUILDS`) becomes an asset, or a multi-asset, with
the specs and check specs its tables declare, run by the `zone_steps` resource."""

import dagster as dg

from stedi_assets.asset_metadata import metadata
from stedi_assets.builds.build import Build, Table
from stedi_assets.builds.outcome import PER_PARTITION, SNAPSHOT_ID
from stedi_assets.lake.conflicts import RETRIES, RETRY_AFTER_SECONDS, ConcurrentWrite
from stedi_assets.partitions import ingest_date_partitions, single_run
from stedi_assets.schemas.tables import TableSpec
from stedi_assets.zones import BUILDS

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


def column_lineage(table: Table) -> dg.TableColumnLineage | None:
    """Where each column comes from (`Table.column_sources`); None for the landing tables, which come from files."""
    if table.column_sources is None:
        return None
    return dg.TableColumnLineage(
        {
            column: [dg.TableColumnDep(asset_key=dg.AssetKey(source.name), column_name=name) for source, name in deps]
            for column, deps in table.column_sources.items()
        }
    )


def asset_spec(table: Table) -> dg.AssetSpec:
    """Dependencies on the tables read at the run's dates, then on the tables read whole (all their partitions:
    consent and de-duplication look across ingest dates)."""
    spec, lineage = table.spec, column_lineage(table)
    deps = [
        *(dg.AssetDep(upstream.name) for upstream in table.upstream_same_date),
        *(dg.AssetDep(upstream.name, partition_mapping=dg.AllPartitionMapping()) for upstream in table.upstream),
    ]
    return dg.AssetSpec(
        spec.name,
        group_name=table.group or spec.zone,
        description=spec.description,
        deps=deps,
        owners=OWNERS,
        kinds={"spark", "iceberg"},
        code_version=table.code_version,
        metadata={
            "dagster/column_schema": column_schema(spec),
            **({"dagster/column_lineage": lineage} if lineage else {}),
            "zone": spec.zone,
        },
        partitions_def=ingest_date_partitions,
    )


def check_specs(table: Table) -> list[dg.AssetCheckSpec]:
    """The table's checks. A blocking check that fails with ERROR stops downstream."""
    key = dg.AssetKey(table.spec.name)
    return [
        dg.AssetCheckSpec(check.name, asset=key, blocking=check.blocking, description=check.description)
        for check in table.checks
    ]


def build_asset(build: Build, resource_keys: set[str]) -> dg.AssetsDefinition:
    """The asset (or multi-asset) of one build: a range of dates per run, run by the `zone_steps` resource."""

    @dg.multi_asset(
        name=build.name,
        specs=[asset_spec(table) for table in build.tables],
        check_specs=[spec for table in build.tables for spec in check_specs(table)],
        partitions_def=ingest_date_partitions,
        backfill_policy=single_run,
        required_resource_keys={STEPS_RESOURCE, *resource_keys},
    )
    def _step(context: dg.AssetExecutionContext):
        try:
            run_partitions = set(context.partition_keys)
            for result in getattr(context.resources, STEPS_RESOURCE).run(context, build.name):
                yield from with_metadata_per_partition(context, run_partitions, result)
        except ConcurrentWrite as error:  # computed again from the tables as they are now, by Dagster's step retry
            raise dg.RetryRequested(max_retries=RETRIES, seconds_to_wait=RETRY_AFTER_SECONDS) from error

    return _step


def zone_assets(resource_keys: set[str]) -> list[dg.AssetsDefinition]:
    return [build_asset(build, resource_keys) for build in BUILDS.values()]


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
