"""Landing zone assets: each source's valid records and its quarantine, from one parse of the files.

Only ingest dates whose landed files changed (new, or a different size or
modification time) are parsed again; the others are already in the lake.
"""

import dagster as dg
from dagster_pyspark import PySparkResource

from stedi_assets.checks.counts import count_check, quarantine_rate_check
from stedi_assets.landing_files import fingerprint, fingerprints_by_ingest_date
from stedi_assets.partitions import ingest_date_partitions, single_run
from stedi_assets.resources.lake import LocalLake
from stedi_assets.resources.settings import LandingRoot, StediOptions
from stedi_assets.schemas.tables import LANDING_TABLES, QUARANTINE_TABLES, SOURCE_FIELDS
from stedi_assets.transforms.landing import (
    landing_records,
    nonblank_lines_landed,
    parse_landing,
    quarantine_records,
)
from stedi_assets.zones.publish import (
    Published,
    asset_spec,
    check_specs,
    materialize_result,
    not_empty_result,
    publish,
    schema_result,
)


def lines_accounted_for(valid: Published, invalid: Published, lines_landed: dict[str, int]) -> dg.AssetCheckResult:
    unaccounted = {
        key: lines_landed[key] - valid.rows_by_partition[key] - invalid.rows_by_partition[key]
        for key in valid.rows_by_partition
    }
    return count_check(
        valid.asset_key,
        "lines_accounted_for",
        not any(unaccounted.values()),
        lines_landed=dg.MetadataValue.json(lines_landed),
        unaccounted_lines=dg.MetadataValue.json(unaccounted),
    )


def landing_assets(source: str) -> dg.AssetsDefinition:
    landing, quarantine = LANDING_TABLES[source], QUARANTINE_TABLES[source]

    @dg.multi_asset(
        name=f"{source}_landing_zone",
        specs=[asset_spec(landing, "landing"), asset_spec(quarantine, "landing")],
        check_specs=[
            *check_specs(landing, "not_empty", "lines_accounted_for", "quarantine_rate"),
            *check_specs(quarantine),
        ],
        partitions_def=ingest_date_partitions,
        backfill_policy=single_run,
    )
    def _landing_zone(
        context: dg.AssetExecutionContext,
        pyspark: PySparkResource,
        landing_root: LandingRoot,
        lake: LocalLake,
        options: StediOptions,
    ):
        spark = pyspark.spark_session
        keys = context.partition_keys
        files = landing_root.files(source, keys)
        landed_files = fingerprints_by_ingest_date(files)
        sources = {key: landed_files.get(key, fingerprint([])) for key in keys}
        landing_state, quarantine_state = lake.state(landing), lake.state(quarantine)
        changed = [
            key
            for key in keys
            if not landing_state.get(key, {}).get("sources")
            == quarantine_state.get(key, {}).get("sources")
            == sources[key]
        ]
        changed_files = [f for f in files if f.ingest_date in changed]
        lines_landed = nonblank_lines_landed(spark, changed_files)
        landed = {key: {"sources": sources[key], "lines_landed": lines_landed.get(key, 0)} for key in changed}
        parsed = parse_landing(spark, changed_files, SOURCE_FIELDS[source]).persist()
        valid = publish(lake, landing, landing_records(parsed, landing), keys, changed, landed)
        invalid = publish(lake, quarantine, quarantine_records(parsed, quarantine), keys, changed, landed)
        parsed.unpersist()
        all_lines = {key: lake.state(landing)[key]["lines_landed"] for key in keys}
        context.log.info(
            f"{source}: parsed {len(changed_files)} files of {changed}; {len(keys) - len(changed)} "
            "ingest dates unchanged"
        )
        quarantined = quarantine_rate_check(
            valid.asset_key,
            sum(invalid.rows_by_partition.values()),
            sum(all_lines.values()),
            options.quarantine_warn_rate,
            options.quarantine_error_rate,
        )
        yield materialize_result(
            valid,
            [
                schema_result(valid),
                not_empty_result(valid),
                lines_accounted_for(valid, invalid, all_lines),
                quarantined,
            ],
        )
        yield materialize_result(invalid, [schema_result(invalid)])

    return _landing_zone


customer_landing, accelerometer_landing, step_trainer_landing = (landing_assets(s) for s in SOURCE_FIELDS)
