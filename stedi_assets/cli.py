"""`stedi`: materialize the lake from a landing folder, or write sample landing data."""

import argparse
import hashlib
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import NamedTuple

from stedi_assets.atomic_files import write_text_atomically
from stedi_assets.landing_files import SOURCES, LandingLayoutError, fingerprint, list_landing_files
from stedi_assets.options import DEV_PSEUDONYM_KEY, ML_JOIN_MODES

MANIFEST = "_stedi_manifest.json"


class Landed(NamedTuple):
    fingerprint: str  # of every landing file and of the options
    ingest_dates: list[str]
    bytes: int


def what_landed(landing_root: str, options: dict) -> Landed:
    files = [file for source in SOURCES for file in list_landing_files(landing_root, source)]
    digest = hashlib.sha256(json.dumps(options, sort_keys=True).encode() + fingerprint(files).encode())
    return Landed(digest.hexdigest(), sorted({file.ingest_date for file in files}), sum(file.size for file in files))


def last_run(manifest_path: Path) -> dict:
    """The last successful run's landing fingerprint and row counts. A manifest that cannot be read, or is not
    one, counts as none: the run then computes every table again and rewrites only partitions whose content
    changed."""
    try:
        previous = json.loads(manifest_path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as error:
        print(f"stedi: ignoring the unreadable {manifest_path} ({error}); checking every table", file=sys.stderr)
        return {}
    if not (isinstance(previous, dict) and isinstance(previous.get("table_rows"), dict)):
        print(f"stedi: ignoring {manifest_path}: it holds no table row counts; checking every table", file=sys.stderr)
        return {}
    return previous


def save_jvm_classes() -> None:
    """After a successful run: the class archive later Spark JVMs start from, if there is none yet. It is a
    cache, so a run that succeeded does not fail for it."""
    from stedi_assets.jvm_classes import save_archive

    try:
        archive = save_archive()
    except Exception as error:  # e.g. an unwritable or full cache folder, or a JVM that cannot dump
        print(f"stedi: could not save the Spark JVM's classes ({error}); runs start as before", file=sys.stderr)
        return
    if archive:
        print(f"Saved the Spark JVM's classes to {archive}: the next runs start faster.")


def materialize(args) -> int:
    options = {
        "ml_join": args.ml_join,
        "consent_cutoff": args.consent_cutoff,
        "expect": args.expect,
        "pseudonym_key": hashlib.sha256(args.pseudonym_key.encode()).hexdigest(),
    }
    try:
        landed = what_landed(args.landing, options)
    except LandingLayoutError as error:
        print(f"stedi: {error}", file=sys.stderr)
        return 2
    if not landed.ingest_dates:
        print(f"stedi: no landing files under {args.landing}/<source>/landing/", file=sys.stderr)
        return 2
    try:
        Path(args.lake).mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=args.lake):
            pass
    except OSError as error:
        print(
            f"stedi: lake root {args.lake} is not writable ({error.strerror}): choose another --lake", file=sys.stderr
        )
        return 2
    manifest_path = Path(args.lake) / MANIFEST
    previous = last_run(manifest_path)
    if previous.get("fingerprint") == landed.fingerprint:
        print("The lake is up to date: no new or changed landing files since the last run.")
        table_rows = previous["table_rows"]
    else:
        from stedi_assets.spark_start import start_spark_session

        start_spark_session(args.spark_master, landed.bytes)  # Dagster and Spark load only when there is work
        from stedi_assets.materialize import run_all_zones

        success, table_rows, failed = run_all_zones(args, landed.ingest_dates, landed.bytes)
        for check in failed:
            print(f"ERROR check failed: {check}", file=sys.stderr)
        if not success or failed:
            print("stedi: the run failed; see the messages above (and the run in `dagster dev`).", file=sys.stderr)
            return 1
        manifest = {"fingerprint": landed.fingerprint, "table_rows": table_rows}
        write_text_atomically(manifest_path, json.dumps(manifest, indent=2))
        save_jvm_classes()
    print(f"{'table':<26}{'rows':>10}")
    for table, rows in table_rows.items():
        print(f"{table:<26}{rows:>10}")
    return 0


def sample(args) -> int:
    from stedi_assets.sample import write_sample_landing

    summary = write_sample_landing(args.out, customers=args.customers, seed=args.seed, scale=args.scale)
    print(f"Wrote {summary['files']} landing files under {args.out}: {summary['lines']}")
    return 0


def ddl(args) -> int:
    from stedi_assets.schemas.ddl import all_tables_ddl

    statements = all_tables_ddl(args.lake, args.database)
    if args.out:
        Path(args.out).write_text(statements + ";\n")
        print(f"Wrote the DDL of every table to {args.out}")
    else:
        print(statements + ";")
    return 0


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="stedi", description=__doc__)
    commands = cli.add_subparsers(dest="command", required=True)
    run = commands.add_parser("materialize", help="build every zone table that is missing or stale")
    run.add_argument("--landing", required=True, help="landing root: <root>/<source>/landing/...")
    run.add_argument("--lake", required=True, help="lake root the Parquet tables are written under")
    run.add_argument("--ml-join", choices=ML_JOIN_MODES, default="customer")
    run.add_argument("--consent-cutoff", action="store_true", help="drop readings taken before consent")
    run.add_argument("--expect", metavar="PROFILE", help="check row counts against a profile (stedi-starter)")
    run.add_argument(
        "--pseudonym-key",
        default=os.environ.get("STEDI_PSEUDONYM_KEY", DEV_PSEUDONYM_KEY),
        help="key of the pseudonymous customer ids (default: $STEDI_PSEUDONYM_KEY)",
    )
    run.add_argument(
        "--spark-master",
        default=os.environ.get("STEDI_SPARK_MASTER", "local[*]"),
        help="local[*] (default), a cluster master URL, or a Spark Connect URL sc://host:port",
    )
    run.set_defaults(handler=materialize)
    make = commands.add_parser("sample", help="write synthetic landing data")
    make.add_argument("--out", required=True)
    size = make.add_mutually_exclusive_group()
    size.add_argument("--customers", type=int, help="number of customers (default 60)")
    size.add_argument("--scale", type=float, help="volume as a multiple of the public starter data (100: ~8M readings)")
    make.add_argument("--seed", type=int, default=7)
    make.set_defaults(handler=sample)
    athena = commands.add_parser("ddl", help="print the Athena/Hive DDL of every table")
    athena.add_argument("--lake", required=True, help="lake root as the engine sees it, e.g. s3://bucket/lake")
    athena.add_argument("--database", default="stedi")
    athena.add_argument("--out", help="write to this file instead of printing")
    athena.set_defaults(handler=ddl)
    return cli


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
