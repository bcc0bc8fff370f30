"""One Dagster run of every zone, over the ingest dates that changed, as `stedi materialize` starts it."""

import logging

import dagster as dg

from stedi_assets.definitions import build_definitions
from stedi_assets.failures import one_line
from stedi_assets.instance import learn_lake, open_instance
from stedi_assets.jobs import partition_range_tags
from stedi_assets.partitions import ingest_date_partitions
from stedi_assets.resources import local_resources
from stedi_assets.run_targets import changed_landing, dates_of, run_range
from stedi_assets.schemas.tables import ALL_TABLES
from stedi_assets.zones.landing import delivery_quality


class StepProgress(logging.Handler):
    """A Dagster logger's handler that prints a line on the terminal as each step that writes tables ends (the
    tables, their rows, its seconds), and a line for each check that fails. It keeps what the run reported:
    the rows of each table it materialized (`table_rows`) and the ERROR checks that failed (`failed_checks`)."""

    def __init__(self, terminal):
        super().__init__(logging.DEBUG)
        self.terminal = terminal
        self.table_rows: dict[str, int] = {}
        self.step_tables: dict[str, list[str]] = {}
        self.failed_checks: list[str] = []

    def logger(self) -> dg.LoggerDefinition:
        def progress_logger(_context) -> logging.Logger:
            logger = logging.Logger("stedi_progress", logging.DEBUG)
            logger.addHandler(self)
            return logger

        return dg.LoggerDefinition(progress_logger, description="one line per finished step, for the terminal")

    def emit(self, record: logging.LogRecord) -> None:
        event = getattr(record, "dagster_event", None)  # Dagster's log manager puts it on each event's record
        if event is None:
            return
        step = event.step_key
        if event.is_step_materialization:
            materialization = event.step_materialization_data.materialization
            table = materialization.asset_key.path[-1]
            self.table_rows[table] = materialization.metadata["dagster/row_count"].value
            tables = self.step_tables.setdefault(step, [])
            if table not in tables:  # one materialization per partition
                tables.append(table)
        elif event.event_type == dg.DagsterEventType.ASSET_CHECK_EVALUATION:
            evaluation = event.asset_check_evaluation_data
            error = evaluation.severity == dg.AssetCheckSeverity.ERROR
            if error and evaluation.check_name == delivery_quality.name:
                return  # a held delivery: the CLI tells each one from the lake after the run
            if not evaluation.passed:
                check = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
                if error:
                    self.failed_checks.append(check)
                level, stream = ("ERROR", self.terminal.err) if error else ("WARN", self.terminal.out)
                reason = f": {evaluation.description}" if evaluation.description else ""
                print(f"{level} check failed: {check}{reason}", file=stream)
        elif event.is_step_success and step in self.step_tables:  # a step of checks alone says only what failed
            seconds = event.step_success_data.duration_ms / 1000
            rows = {table: self.table_rows[table] for table in self.step_tables.pop(step)}
            tables = ", ".join(f"{table} {n:,} row{'' if n == 1 else 's'}" for table, n in rows.items())
            print(f"{seconds:7.1f} s  {tables}", file=self.terminal.out)  # the time first: its column never drifts
        elif event.is_step_failure:
            print(f"FAILED {step}: {step_failure(event.step_failure_data.error)}", file=self.terminal.err)
        elif event.is_resource_init_failure:  # e.g. Spark that could not start: no step ran
            print(f"FAILED before any step: {step_failure(event.engine_event_data.error)}", file=self.terminal.err)
        elif event.is_step_skipped:
            print(f"  skipped {step}: an upstream step or blocking check failed", file=self.terminal.out)


def step_failure(error) -> str:
    """A failed step's cause in one line (`failures`), from Dagster's error and every error under it."""
    chain = []
    while error is not None:
        chain.append(error)
        error = error.cause or error.context
    text = "\n".join(line for e in chain for line in [e.message, *e.stack])
    return one_line(text, chain[-1].message) if chain else "unknown error"


def run_all_zones(args, ingest_dates: list[str], landing_bytes: int, progress: StepProgress) -> tuple[bool, dict]:
    """One run of every zone over the ingest dates whose landing files changed (`run_targets`; the latest
    date when none did, so the other steps still catch up with a new code version): (success, rows of each
    table, quarantines included, as `progress` saw them). Dagster's own log goes to the console logger, at every
    level: `--verbose` shows it, else it is in the run's log file."""
    resources = local_resources(
        args.landing,
        args.lake,
        args.ml_join,
        args.consent_cutoff,
        args.pseudonym_key,
        args.namespace,
        args.spark_master,
        landing_bytes,
        max_file_size=args.max_file_size,
        max_record_size=args.max_record_size,
        split_shares=args.split,
    )
    defs = build_definitions(resources, args.expect)
    changed = dates_of(changed_landing(resources["landing_root"], resources["lake"].pins(ALL_TABLES)))
    with open_instance(args.lake) as instance:
        learn_lake(instance, resources["lake"])  # what it has not seen yet shows before this run adds to it
        known = set(instance.get_dynamic_partitions(ingest_date_partitions.name))
        # A date whose files are gone is registered too: its partitions are emptied.
        instance.add_dynamic_partitions(ingest_date_partitions.name, sorted((set(ingest_dates) | changed) - known))
        ordered = instance.get_dynamic_partitions(ingest_date_partitions.name)
        job = defs.resolve_job_def("all_zones")
        result = job.with_logger_defs({**job.loggers, "progress": progress.logger()}).execute_in_process(
            instance=instance,
            tags=partition_range_tags(run_range(ordered, changed or {ordered[-1]})),
            run_config={"loggers": {"console": {"config": {"log_level": "DEBUG"}}, "progress": {}}},
            raise_on_error=False,
        )
    return result.success, {table.name: progress.table_rows.get(table.name, 0) for table in ALL_TABLES}
