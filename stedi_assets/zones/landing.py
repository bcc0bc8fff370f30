"""Landing zone assets: each source's valid records and its quarantine, from one parse of the files."""

import dagster as dg
from dagster_pyspark import PySparkResource

from stedi_assets.checks.counts import count_check
from stedi_assets.partitions import ingest_date_partitions, single_run
from stedi_assets.resources.lake import LocalLake
from stedi_assets.resources.settings import LandingRoot
from stedi_assets.schemas.tables import LANDING_TABLES, QUARANTINE_TABLES, SOURCE_FIELDS
from stedi_assets.transforms.landing import (
    landing_records,
    nonblank_lines_landed,
    parse_landing,
    quarantine_records,
)
from stedi_assets.zones.publish import asset_spec, check_specs, materialize_result, not_empty_result, publish, schema_result


def landing_assets(source: str) -> dg.AssetsDefinition:
    landing, quarantine = LANDING_TABLES[source], QUARANTINE_TABLES[source]
    landing_key = dg.AssetKey(landing.name)

    @dg.multi_asset(
        name=f"{source}_landing_zone",
        specs=[asset_spec(landing, "landing"), asset_spec(quarantine, "landing")],
        check_specs=[
            *check_specs(landing, "not_empty", "lines_accounted_for"),
            *check_specs(quarantine),
        ],
        partitions_def=ingest_date_partitions,
        backfill_policy=single_run,
    )
    def _landing_zone(context: dg.AssetExecutionContext, pyspark: PySparkResource, landing_root: LandingRoot,
                      lake: LocalLake):
        spark = pyspark.spark_session
        keys = context.partition_keys
        files = landing_root.files(source, keys)
        parsed = parse_landing(spark, files, SOURCE_FIELDS[source]).persist()
        valid = publish(lake, landing, landing_records(parsed, landing), keys)
        invalid = publish(lake, quarantine, quarantine_records(parsed, quarantine), keys)
        parsed.unpersist()
        lines = nonblank_lines_landed(spark, files)
        unaccounted = {
            key: lines.get(key, 0) - valid.rows_by_partition[key] - invalid.rows_by_partition[key]
            for key in keys
        }
        accounted = count_check(
            landing_key,
            "lines_accounted_for",
            not any(unaccounted.values()),
            lines_landed=dg.MetadataValue.json(lines),
            unaccounted_lines=dg.MetadataValue.json(unaccounted),
        )
        yield materialize_result(valid, [schema_result(valid), not_empty_result(valid), accounted])
        yield materialize_result(invalid, [schema_result(invalid)])

    return _landing_zone


customer_landing, accelerometer_landing, step_trainer_landing = (landing_assets(s) for s in SOURCE_FIELDS)
