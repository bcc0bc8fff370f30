"""`stedi`: materialize, query and maintain the lake; write sample landing data."""

import argparse
import gc
import getpass
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import NamedTuple

from stedi_assets.deliveries import held_deliveries, hold_line, inspect_hint
from stedi_assets.deliveries import release as release_delivery
from stedi_assets.failures import one_line
from stedi_assets.lake import jars
from stedi_assets.lake.catalog import DEFAULT_NAMESPACE
from stedi_assets.lake.conflicts import ConcurrentWrite
from stedi_assets.lake.iceberg_tables import Lake, Pinned
from stedi_assets.landing_files import SOURCES, LandingLayoutError, LandingRoot, bucket_and_key, list_landing_files
from stedi_assets.options import (
    DEFAULT_RETAIN_DAYS,
    ML_JOIN_MODES,
    StediOptions,
    parse_size,
    parse_split,
    size_text,
    split_text,
)
from stedi_assets.pseudonym_key import local_pseudonym_key
from stedi_assets.run_log import Terminal, log_dir, new_log_file, noise_to
from stedi_assets.schemas.tables import ALL_TABLES, LANDING_TABLES, SPLITS
from stedi_assets.spark_config import runs_on_this_machine


class Landed(NamedTuple):
    ingest_dates: list[str]
    bytes: int


def what_landed(landing_root: str) -> Landed:
    files = [file for source in SOURCES for file in list_landing_files(landing_root, source)]
    return Landed(sorted({file.ingest_date for file in files}), sum(file.size for file in files))


def up_to_date(landing_root: str, pins: dict[str, Pinned], options: StediOptions) -> bool:
    """Whether the lake (`pins`: its tables as they are now) holds what a run would write, read from the lake's
    own state: every landing date was parsed from the files there now, by this parser, and every derived table
    says it was built from its inputs' current snapshots, with this code and these options (`built_from`). No
    Spark, no Dagster."""
    from stedi_assets.builds.build import built_from, upstream_of
    from stedi_assets.run_targets import changed_landing
    from stedi_assets.zones import BUILDS

    if changed_landing(LandingRoot(landing_root), pins):
        return False
    tables = [table for build in BUILDS.values() for table in build.tables if upstream_of(table)]
    snapshots = {name: pin.snapshot_id for name, pin in pins.items()}
    return all(pins[table.spec.name].built_from == built_from(table, snapshots, options) for table in tables)


def save_jvm_classes(terminal: Terminal) -> None:
    """After a successful run: the class archive later Spark JVMs start from, if there is none yet. It is a
    cache, so a run that succeeded does not fail for it."""
    from stedi_assets.jvm_classes import save_archive

    try:
        archive = save_archive()
    except Exception as error:  # e.g. an unwritable or full cache folder, or a JVM that cannot dump
        print(f"stedi: could not save the Spark JVM's classes ({error}); runs start as before", file=terminal.err)
        return
    if archive:
        print(f"Saved the Spark JVM's classes to {archive}: the next runs start faster.", file=terminal.out)


def unwritable_folder(root: str) -> str | None:
    try:
        Path(root).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=root):
            return None
    except OSError as error:
        return error.strerror


def unreachable_bucket(root: str) -> str | None:
    import boto3  # only for a lake on S3
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        boto3.client("s3").head_bucket(Bucket=bucket_and_key(root)[0])
    except (BotoCoreError, ClientError) as error:
        return str(error)
    return None


def materialize(args) -> int:
    try:
        args.pseudonym_key = local_pseudonym_key(args.pseudonym_key)
    except (OSError, ValueError) as error:
        print(f"stedi: no pseudonym key ({error})", file=sys.stderr)
        return 2
    try:
        landed = what_landed(args.landing)
    except LandingLayoutError as error:
        print(f"stedi: {error}", file=sys.stderr)
        return 2
    if not landed.ingest_dates:
        print(f"stedi: no landing files under {args.landing}/<source>/landing/", file=sys.stderr)
        return 2
    s3_lake = args.lake.startswith("s3://")
    problem = unreachable_bucket(args.lake) if s3_lake else unwritable_folder(args.lake)
    if problem:
        print(f"stedi: lake root {args.lake} is not writable ({problem}): choose another --lake", file=sys.stderr)
        return 2
    lake = Lake(args.lake, args.namespace)
    options = StediOptions(args.ml_join, args.consent_cutoff, args.split, pseudonym_key=args.pseudonym_key)
    # A profile's checks run with a run: asked for, they are evaluated even on a lake that is up to date.
    pins = lake.pins(ALL_TABLES)
    if not args.expect and up_to_date(args.landing, pins, options):
        print("The lake is up to date: no new or changed landing files or releases since the last run.")
        table_rows = {name: pin.table_rows for name, pin in pins.items()}
    else:
        log = run_log(args)
        with noise_to(log) as terminal:
            status, table_rows = build_tables(args, landed, s3_lake, terminal, log)
        if status:
            return status
        pins = lake.pins(LANDING_TABLES.values())  # the holds as the run left them
    print(f"{'table':<26}{'rows':>10}")
    for table, rows in table_rows.items():
        print(f"{table:<26}{rows:>10}")
    return tell_holds(lake.root, pins)


# `dagster dev` warns that `dg dev` supersedes it; `dg dev` runs `dagster dev` too, in a project laid out for
# `dg` (pyproject's tool.dg), which this one is not (setup.py, workspace.yaml): the warning asks nothing of a user.
SUPERSEDED_DEV = "ignore:Function `dev_command` is superseded:FutureWarning"


def ui(args) -> int:
    """`dagster dev` (web UI, sensors, schedules) on the instance `stedi materialize` uses, which first learns
    the lake; from the instance's folder, so no other dagster.yaml is in the way. Returns only on failure."""
    from stedi_assets.instance import dagster_home, learn_lake, open_instance

    roots = {"STEDI_LANDING_ROOT": args.landing, "STEDI_LAKE_ROOT": args.lake}
    env = {name: root if root.startswith("s3://") else os.path.abspath(root) for name, root in roots.items()}
    with open_instance(args.lake) as instance:
        learn_lake(instance, Lake(env["STEDI_LAKE_ROOT"], args.namespace))
    home = dagster_home(args.lake)
    print(f"Dagster UI on http://{args.host}:{args.port} (instance: {home}; Ctrl-C stops it)", flush=True)
    command = [sys.executable, "-m", "dagster", "dev", "-m", "stedi_assets.definitions"]
    # Dagster's own lines (services starting, each sensor tick) only with --verbose: the UI shows them all.
    level = "info" if args.verbose else "error"
    command += ["--host", args.host, "--port", str(args.port), "--log-level", level, "--code-server-log-level", level]
    warnings = ",".join(filter(None, [os.environ.get("PYTHONWARNINGS"), SUPERSEDED_DEV]))
    os.chdir(home)
    settings = {**env, "DAGSTER_HOME": str(home), "STEDI_NAMESPACE": args.namespace, "PYTHONWARNINGS": warnings}
    os.execve(sys.executable, command, {**os.environ, **settings})


def tell_holds(lake_root: str, pins: dict[str, Pinned]) -> int:
    """One line per held delivery in the landing tables' state, and exit status 1 while any is held."""
    held = held_deliveries(pins)
    for delivery in held:
        print(f"stedi: {hold_line(lake_root, delivery)}", file=sys.stderr)
    if held:
        print(f"stedi: to see why, e.g.: {inspect_hint(lake_root, held[0])}", file=sys.stderr)
    return 1 if held else 0


def user_name() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # a container's user with no name
        return f"uid {os.getuid()}"


def release(args) -> int:
    """Mark a held delivery released, in the lake: the next run takes its valid rows downstream."""
    lake = Lake(args.lake, args.namespace)
    if not lake.catalog.exists():
        print(f"stedi: no lake at {args.lake} (its catalog {lake.catalog.sqlite_path} is missing)", file=sys.stderr)
        return 2
    try:
        delivery = release_delivery(lake, args.source, args.date, args.by or user_name())
    except (ValueError, ConcurrentWrite) as error:  # not held (NotHeld), or the table not built yet
        print(f"stedi: {error}", file=sys.stderr)
        return 2
    print(
        f"Released {delivery.source} {delivery.date} ({delivery.summary()}), by {delivery.released['by']} at "
        f"{delivery.released['at']}. The next `stedi materialize` or run in dagster dev takes its "
        f"{delivery.lines - delivery.quarantined:,} valid rows downstream."
    )
    return 0


def build_tables(args, landed: Landed, s3_lake: bool, terminal: Terminal, log: Path | None) -> tuple[int, dict]:
    """One Dagster run on a Spark session started meanwhile: (exit status, rows of each zone table). A failure
    has been explained on the terminal."""
    from stedi_assets.spark_start import start_spark_session

    details = f"details: {log}" if log else "details above"
    if runs_on_this_machine(args.spark_master) and jars.missing(s3_lake):
        print(f"Fetching the lake's Spark jars from Maven Central into {jars.cache_dir()} (once)...", file=terminal.out)
        started = start_spark_session(args.spark_master, landed.bytes, s3_lake)
        started.join()
        if started.error is not None and jars.missing(s3_lake):
            print(f"stedi: {jars.unavailable_message(s3_lake)} ({details})", file=terminal.err)
            return 2, {}
    start_spark_session(args.spark_master, landed.bytes, s3_lake)  # only when there is work
    from stedi_assets.materialize import StepProgress, run_all_zones

    progress = StepProgress(terminal)
    try:
        success, table_rows = run_all_zones(args, landed.ingest_dates, landed.bytes, progress)
    except LandingLayoutError as error:  # the landing files changed since they were listed above
        print(f"stedi: {error}", file=terminal.err)
        return 2, {}
    if not success or progress.failed_checks:
        print(f"stedi: the run failed; see the lines above ({details}; the run in `dagster dev`)", file=terminal.err)
        return 1, {}
    save_jvm_classes(terminal)
    return 0, table_rows


def run_log(args) -> Path | None:
    """The log file for Spark's, the JVM's and Dagster's messages, announced; none with --verbose."""
    if args.verbose:
        return None
    log = Path(args.log_file or new_log_file(args.command))
    print(f"Log of Spark, its JVM and Dagster: {log}")
    return log


def maintain(args) -> int:
    """Re-issue kept versions without withdrawn customers, expire snapshots older than the retention window and
    delete the files nothing references."""
    from stedi_assets.lake.catalog import LakeCatalog

    catalog = LakeCatalog(args.lake, args.namespace)
    if not catalog.exists():
        print(f"stedi: no lake at {args.lake} (its catalog {catalog.sqlite_path} is missing)", file=sys.stderr)
        return 2
    try:
        key = local_pseudonym_key(args.pseudonym_key)
    except (OSError, ValueError) as error:
        print(f"stedi: no pseudonym key ({error})", file=sys.stderr)
        return 2
    from pyspark.sql import SparkSession

    from stedi_assets.kept_versions import needs_a_person, reissue_text, run_maintenance
    from stedi_assets.spark_config import spark_config

    log = run_log(args)
    with noise_to(log) as terminal:
        try:
            spark = SparkSession.builder.config(map=spark_config(s3_lake=args.lake.startswith("s3://"))).getOrCreate()
            reissued, deleted = run_maintenance(spark, Lake(args.lake, args.namespace), key, args.retain_days)
        except Exception as error:  # told in one line; the trace goes to the log
            traceback.print_exc()
            cause = one_line("".join(traceback.format_exception(error)), str(error))
            print(f"stedi: maintenance failed: {cause} (details: {log or 'above'})", file=terminal.err)
            return 1
    for version in reissued:
        print(f"Kept version {version.version} of {version.table}: {reissue_text(version)}")
    print(f"Expired snapshots older than {args.retain_days:g} days; files deleted:")
    print(f"{'table':<26}{'data':>8}{'metadata':>10}{'orphans':>9}")
    for table, files in deleted.items():
        print(f"{table:<26}{files['data_files']:>8}{files['manifest_files']:>10}{files['orphan_files']:>9}")
    return 1 if any(needs_a_person(version) for version in reissued) else 0


def sample(args) -> int:
    from stedi_assets.sample import write_sample_landing

    summary = write_sample_landing(args.out, customers=args.customers, seed=args.seed, scale=args.scale)
    lines = ", ".join(f"{count:,} {source}" for source, count in summary["lines"].items())
    dates = summary["ingest_dates"]
    print(
        f"Wrote {summary['files']} landing files under {args.out} for {summary['customers']} customers over "
        f"{len(dates)} ingest dates ({dates[0]} to {dates[-1]}): {lines} lines."
    )
    return 0


def aws_package(args) -> int:
    from stedi_assets.remote.package import PackageError, package

    print(f"Building the AWS job's artifacts in {args.out} ...", flush=True)
    try:
        built = package(Path(args.out), emr=args.emr)
    except PackageError as error:
        print(f"stedi aws package: {error}", file=sys.stderr)
        return 1
    for artifact in built:
        print(f"  {artifact}  ({artifact.stat().st_size / 1e6:,.1f} MB)")
    print("Copy them to S3 and make the job as docs/aws.md says.")
    return 0


def _cell(value) -> str:
    if value is None:
        return "NULL"
    return str(value).replace("\n", "\\n")


def _is_number(value) -> bool:
    return isinstance(value, (int, float, Decimal)) and not isinstance(value, bool)


def print_table(columns: list[str], rows: list[tuple]) -> None:
    """An aligned text table: numbers right-aligned, the rest left-aligned, NULL for a missing value."""
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [max([len(name), *(len(row[i]) for row in cells)]) for i, name in enumerate(columns)]
    numeric = [bool(rows) and all(_is_number(row[i]) or row[i] is None for row in rows) for i in range(len(columns))]

    def line(values: list[str]) -> str:
        aligned = (v.rjust(w) if right else v.ljust(w) for v, w, right in zip(values, widths, numeric))
        return "  ".join(aligned).rstrip()

    print(line(columns))
    print("  ".join("-" * width for width in widths))
    for row in cells:
        print(line(row))


def query(args) -> int:
    from stedi_assets.query import LakeQueryError, query_lake

    try:
        result = query_lake(args.lake, args.sql, args.namespace, max_rows=args.limit)
    except LakeQueryError as error:
        print(f"stedi: {error}", file=sys.stderr)
        return 2
    if result.columns:
        print_table(result.columns, result.rows)
    if len(result.rows) < result.total:
        print(f"({result.total} rows in all; the first {len(result.rows)} shown: raise --limit to see more)")
    else:
        print(f"({result.total} row{'' if result.total == 1 else 's'})")
    return 0


def utc_time(epoch_ms: int) -> str:
    return datetime.fromtimestamp(epoch_ms / 1000, UTC).strftime("%Y-%m-%d %H:%M")


def training_set_list(args) -> int:
    """Every kept version of training_set: snapshot, made when, rows (customers) per split, re-issues."""
    from stedi_assets.kept_versions import training_set_versions

    found = training_set_versions(Lake(args.lake, args.namespace))
    if not found:
        print(f"stedi: training_set has no kept version in {args.lake}: materialize the lake first", file=sys.stderr)
        return 2
    columns = ["version", "kind", "snapshot", "created (UTC)", *SPLITS, "re-issued"]
    rows = [
        (
            kept.version.name,
            kept.version.kind,
            str(kept.version.snapshot_id),
            utc_time(kept.version.created_ms),
            *(f"{rows:,} ({customers:,})" for rows, customers in kept.per_split.values()),
            "; ".join(
                f"{utc_time(done['at_ms'])}: {done['rows_removed']:,} {done['why']}" for done in kept.version.reissues
            ),
        )
        for kept in found
    ]
    print_table(columns, rows)
    print("(per split: rows (customers))")
    return 0


def training_set_export(args) -> int:
    """One Parquet file per split of a kept version of training_set."""
    from stedi_assets.kept_versions import export_version
    from stedi_assets.lake.versions import UnknownVersion

    try:
        written = export_version(Lake(args.lake, args.namespace), args.tag, Path(args.out))
    except UnknownVersion:
        print(f"stedi: training_set has no version {args.tag!r}: `stedi training-set list` names them", file=sys.stderr)
        return 2
    for split, rows in written.items():
        print(f"{Path(args.out) / f'{split}.parquet'}: {rows:,} rows")
    return 0


def ingest_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a date of the form YYYY-MM-DD: {text!r}") from None


def add_setting(parser, flag: str, variable: str, parse, text, default, description: str) -> None:
    """An option read by `parse` (its ValueError is argparse's message), defaulting to `variable` if set, else
    to `default`, which the help shows as `text` writes it."""

    def typed(value: str):
        try:
            return parse(value)
        except ValueError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    default_text = text(default)
    help_text = f"{description} (default: ${variable}, else {default_text})"
    parser.add_argument(flag, type=typed, default=os.environ.get(variable, default_text), help=help_text)


def row_limit(text: str) -> int:
    limit = int(text)
    if limit < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, not {limit}")
    return limit


DEFAULT_LANDING, DEFAULT_LAKE = "data/landing", "data/lake"  # where `stedi sample` and `dagster dev` have them


def add_key_argument(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--pseudonym-key",
        help="key of the pseudonymous customer ids (default: $STEDI_PSEUDONYM_KEY, $STEDI_PSEUDONYM_KEY_FILE, "
        "else this installation's own, generated once)",
    )


def add_lake_arguments(command: argparse.ArgumentParser) -> None:
    command.add_argument(
        "--lake",
        default=DEFAULT_LAKE,
        help=f"lake root: a folder (with its own catalog) or s3://bucket/prefix (default: {DEFAULT_LAKE})",
    )
    command.add_argument(
        "--namespace",
        default=os.environ.get("STEDI_NAMESPACE", DEFAULT_NAMESPACE),
        help="catalog namespace (the Glue database on AWS) of the tables (default: $STEDI_NAMESPACE or stedi)",
    )


def add_output_arguments(command: argparse.ArgumentParser) -> None:
    output = command.add_mutually_exclusive_group()
    output.add_argument("--verbose", action="store_true", help="show Spark's, the JVM's and Dagster's messages")
    output.add_argument(
        "--log-file", metavar="FILE", help=f"where those messages go (default: a new file in {log_dir()})"
    )


def command(commands, name: str, summary: str, examples: str) -> argparse.ArgumentParser:
    """A subcommand whose --help says what it does and ends with examples."""
    return commands.add_parser(
        name,
        help=summary,
        description=summary[0].upper() + summary[1:] + ".",
        epilog="examples:\n" + examples,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(
        prog="stedi",
        description="The STEDI lakehouse: curate the step trainer's landing files into Iceberg tables.",
        epilog="""quick start:
  stedi sample --out data/landing
  stedi materialize --landing data/landing --lake data/lake
  stedi query --lake data/lake "SELECT count(*) FROM machine_learning_curated"

Run `stedi COMMAND --help` for a command's options.""",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = cli.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = command(
        commands,
        "materialize",
        "build every zone table that is missing or stale, in one Dagster run on one Spark session",
        """  stedi materialize --landing data/landing --lake data/lake
  stedi materialize --landing path/to/stedi-starter --lake /tmp/lake --expect stedi-starter
  stedi materialize --landing s3://my-landing --lake s3://my-lake --namespace stedi

It prints a line per step as it ends, the checks that warned or failed, and the rows of every table. Spark's,
the JVM's and Dagster's messages go to a log file that it names (--verbose: to the terminal).
Exit status: 0 done, 1 the run or an ERROR check failed or a delivery is held, 2 bad configuration or input.
A held delivery (too many bad lines, judged per source and ingest date) gets a line saying why and how to
release it; every other delivery is built.""",
    )
    run.add_argument(
        "--landing",
        default=DEFAULT_LANDING,
        help=f"landing root: <root>/<source>/landing/... (default: {DEFAULT_LANDING})",
    )
    add_lake_arguments(run)
    run.add_argument(
        "--ml-join",
        choices=ML_JOIN_MODES,
        default="customer",
        help="customer (default): pair a step trainer reading with its owner's accelerometer reading at the same "
        "millisecond; timestamp: on the time alone, as the published rubric does",
    )
    run.add_argument("--consent-cutoff", action="store_true", help="drop readings taken before consent")
    defaults = StediOptions()
    add_setting(
        run, "--split", "STEDI_SPLIT", parse_split, split_text, defaults.split_shares,
        "training_set's shares of customers, train/validation/test",
    )  # fmt: skip
    add_setting(
        run, "--max-file-size", "STEDI_MAX_FILE_SIZE", parse_size, size_text, defaults.max_file_size,
        "a landing file larger than this once decompressed is one quarantine row",
    )  # fmt: skip
    add_setting(
        run, "--max-record-size", "STEDI_MAX_RECORD_SIZE", parse_size, size_text, defaults.max_record_size,
        "a line or array element larger than this is quarantined",
    )  # fmt: skip
    run.add_argument("--expect", metavar="PROFILE", help="check row counts against a profile (stedi-starter)")
    add_key_argument(run)
    run.add_argument(
        "--spark-master",
        default=os.environ.get("STEDI_SPARK_MASTER", "local[*]"),
        help="local[*] (default); warm: local Spark kept warm between runs (a Spark Connect server that stops "
        "after STEDI_SPARK_IDLE_SECONDS idle, default 600); a cluster master URL; or a Spark Connect URL sc://host:port",
    )
    add_output_arguments(run)
    run.set_defaults(handler=materialize)
    upkeep = command(
        commands,
        "maintain",
        "expire old snapshots and delete unreferenced files, withdrawn customers' rows included",
        """  stedi maintain --lake data/lake
  stedi maintain --lake data/lake --retain-days 0   # only while nothing writes the lake

Kept versions (tags and branches) of trusted and curated tables are first re-issued without the rows of
customers who no longer consent (the pseudonym key tells their ids in the curated tables). It prints what it
re-issued and the files deleted per table; Spark's and the JVM's messages go to a log file that it names.""",
    )
    add_lake_arguments(upkeep)
    upkeep.add_argument(
        "--retain-days",
        type=float,
        default=float(os.environ.get("STEDI_RETAIN_DAYS", DEFAULT_RETAIN_DAYS)),
        help="keep snapshots (and files) this many days old (default: $STEDI_RETAIN_DAYS or 7)",
    )
    add_key_argument(upkeep)
    add_output_arguments(upkeep)
    upkeep.set_defaults(handler=maintain)
    free = command(
        commands,
        "release",
        "release a held delivery: its valid rows go downstream in the next run",
        """  stedi release --lake data/lake --source accelerometer --date 2024-02-01
  stedi release --lake data/lake --source customer --date 2024-02-01 --by "Ann Lee"

A delivery (one source's files of one ingest date) is held when its lines show, with confidence, a bad share
above the error rate. `stedi materialize` names each held delivery. The release is recorded in the lake (who and
when); the quarantined lines stay in the quarantine table.""",
    )
    add_lake_arguments(free)
    free.add_argument("--source", required=True, choices=SOURCES, help="the delivery's source")
    free.add_argument("--date", required=True, type=ingest_date, help="the delivery's ingest date, YYYY-MM-DD")
    free.add_argument("--by", help="who releases it (default: your user name)")
    free.set_defaults(handler=release)
    make = command(
        commands,
        "sample",
        "write synthetic landing data, with the real exports' quirks, over three ingest dates",
        """  stedi sample --out data/landing
  stedi sample --out /tmp/landing-10x --scale 10""",
    )
    make.add_argument("--out", default=DEFAULT_LANDING, help=f"the landing root to write (default: {DEFAULT_LANDING})")
    size = make.add_mutually_exclusive_group()
    size.add_argument("--customers", type=int, help="number of customers (default 60)")
    size.add_argument("--scale", type=float, help="volume as a multiple of the public starter data (100: ~8M readings)")
    make.add_argument("--seed", type=int, default=7, help="the same seed writes the same data (default 7)")
    make.set_defaults(handler=sample)
    view = command(
        commands,
        "ui",
        "open the Dagster UI (dagster dev) on the instance stedi materialize records its runs in",
        """  stedi ui
  stedi ui --lake data/lake --port 3001
  DAGSTER_HOME=/srv/stedi-dagster stedi ui --landing s3://my-landing --lake s3://my-lake

The instance is $DAGSTER_HOME, else data/dagster under the current folder (as for stedi materialize). It first
records what it has not seen of the lake, so every table built shows as materialized. The landing sensor
then starts a run when landing files change.""",
    )
    view.add_argument(
        "--landing",
        default=os.environ.get("STEDI_LANDING_ROOT", DEFAULT_LANDING),
        help=f"landing root the sensor watches (default: $STEDI_LANDING_ROOT or {DEFAULT_LANDING})",
    )
    add_lake_arguments(view)
    view.add_argument("--host", default="127.0.0.1", help="the address to serve on (default: 127.0.0.1)")
    view.add_argument("--port", type=int, default=3000, help="the port to serve on (default: 3000)")
    view.add_argument("--verbose", action="store_true", help="show Dagster's own lines (default: errors only)")
    view.set_defaults(handler=ui)
    ask = command(
        commands,
        "query",
        "run SQL (DuckDB) over the lake's current tables and print the result",
        """  stedi query --lake data/lake "SHOW TABLES"
  stedi query --lake data/lake "SELECT count(*) FROM machine_learning_curated"
  stedi query --lake data/lake --limit 10 "SELECT reason, count(*) FROM accelerometer_quarantine GROUP BY 1\"""",
    )
    add_lake_arguments(ask)
    ask.add_argument("--limit", type=row_limit, default=50, help="print at most this many rows (default 50)")
    ask.add_argument("sql", help='e.g. "SELECT count(*) FROM customer_trusted"; tables are named as the assets')
    ask.set_defaults(handler=query)
    versions = command(
        commands,
        "training-set",
        "list the kept versions of training_set, or export one as a Parquet file per split",
        """  stedi training-set list --lake data/lake
  stedi training-set export --lake data/lake --tag v3 --out data/exports/v3

Each run that changes training_set keeps the new version as an Iceberg tag (v1, v2, ...), kept through
maintenance and re-issued without customers who withdraw (docs/training-sets.md).""",
    )
    actions = versions.add_subparsers(title="actions", required=True, metavar="ACTION")
    listing = actions.add_parser("list", help="every kept version: snapshot, made when, rows per split, re-issues")
    add_lake_arguments(listing)
    listing.set_defaults(handler=training_set_list)
    export = actions.add_parser("export", help="write one Parquet file per split of a version")
    add_lake_arguments(export)
    export.add_argument("--tag", required=True, help="the version, as `list` names it (e.g. v3)")
    export.add_argument("--out", required=True, help="folder to write train.parquet, validation.parquet, test.parquet")
    export.set_defaults(handler=training_set_export)
    aws = command(
        commands,
        "aws",
        "build what a Glue or EMR Serverless job runs: the package's wheel, the entry script, the EMR archive",
        """  stedi aws package --out dist/aws
  stedi aws package --out dist/aws --emr

Run it in a checkout of the project's source. --emr adds stedi-venv.tar.gz: this Python with everything the job
imports, for EMR Serverless's spark.archives. Build that on Amazon Linux 2023 with its Python 3.11, as EMR 7
runs Amazon Linux 2023 (docs/aws.md).""",
    )
    aws_actions = aws.add_subparsers(title="actions", required=True, metavar="ACTION")
    packing = aws_actions.add_parser("package", help="build the job's artifacts into a folder")
    packing.add_argument("--out", default="dist/aws", help="the folder to write them to (default: dist/aws)")
    packing.add_argument("--emr", action="store_true", help="also the EMR Serverless virtualenv archive")
    packing.set_defaults(handler=aws_package)
    return cli


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.handler(args)
    except BrokenPipeError:  # the output went to a reader that stopped reading (`| head`): nothing to tell
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


def run(command: Callable[[], int] = main) -> None:
    """The `stedi` command's process: `command` (`main`), then an exit that skips Python's final garbage collection
    (`gc.freeze`). Collecting the heap that Dagster, Spark's client, pandas and pyarrow leave took about a second of
    each run's exit, after its last line (0.95 to 1.25 s on cold runs of 5 sample customers; 0.06 to 0.09 s frozen).
    Exit handlers (`atexit`, temporary folders) still run, and the JVM still exits as its pipe closes; only
    finalizers of objects in reference cycles do not, which Python never promises at exit."""
    status = command()
    gc.freeze()
    sys.exit(status)


if __name__ == "__main__":
    run()
