"""Benchmark the platform against plain PySpark and DuckDB, at several scales of the starter volume.

    python -m benchmarks.run --scales 1 10 100 --starter ../shared/data/stedi-starter \\
        --out benchmarks/results.md

For each scale factor: land the data (the public starter data for 1× when
--starter is given, else `stedi sample`'s generator), then time

- the DuckDB SQL baseline and the plain PySpark baseline (the same nine tables);
- a full `stedi materialize` of every asset and check into an empty lake;
- an incremental run after one new ingest date with about 1% more data;
- a no-op run (nothing landed since).

Each command runs as a subprocess pinned to --cores CPUs; the report gives wall
time, peak memory of the process tree, rows per second, the ratio to each
baseline and, for the platform, where the time goes per step and per check.
Every run's tables are counted, and the counts of the platform and both
baselines must agree (on the starter data: the data contract's counts).
Data, lakes and Dagster instances go to --work (default: a temporary folder,
removed at the end), never into the repository.
"""

import argparse
import json
import os
import platform
import shutil
import stat
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from benchmarks.breakdown import attribute, run_events
from benchmarks.layout import (
    BENCHMARK_PSEUDONYM_KEY,
    SOURCES,
    STARTER_COUNTS,
    TABLES,
    count_lines,
    landing_files,
)
from benchmarks.measure import run_measured
from benchmarks.report import render
from stedi_assets.jvm_classes import CLASS_CACHE_ENV

REPO = Path(__file__).resolve().parents[1]
ZONES = {"landing": "landing", "trusted": "trusted", "curated": "curated"}


def log(message: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {message}", flush=True)


def scale_label(scale: float) -> str:
    return f"{scale:g}×"


# --- data -------------------------------------------------------------------------------------


def prepare_landing(scale: float, starter: Path | None, landing: Path, seed: int) -> dict:
    """Land the base data: a copy of the starter data (1× with --starter) or generated data."""
    from stedi_assets.sample import write_sample_landing

    started = time.perf_counter()
    if starter is not None and scale == 1:
        for source in SOURCES:  # a copy: the platform refuses files linked from outside its landing root
            shutil.copytree(starter / source, landing / source, copy_function=shutil.copyfile)
        for path in [landing, *landing.rglob("*")]:  # the shared copy may be read-only; this one gets a new date
            path.chmod(path.stat().st_mode | stat.S_IWUSR)
        origin = "the public starter data"
    else:
        write_sample_landing(landing, scale=scale, seed=seed)
        origin = f"`stedi sample --scale {scale:g}` (seed {seed})"
    return {"origin": origin, "seconds": time.perf_counter() - started, **describe_landing(landing)}


def describe_landing(landing: Path) -> dict:
    from stedi_assets.landing_files import list_landing_files

    lines = {source: count_lines(landing_files(landing, source)) for source in SOURCES}
    files = [f for source in SOURCES for f in list_landing_files(str(landing), source)]
    return {
        "lines": lines,
        "total_lines": sum(lines.values()),
        "files": len(files),
        "bytes": sum(f.size for f in files),
        "ingest_dates": sorted({f.ingest_date for f in files}),
    }


def add_new_date(scale: float, landing: Path, seed: int) -> dict:
    """One more ingest date (the day after the last) with new customers: about 1% more data."""
    from stedi_assets.sample import add_sample_ingest_date, scaled_customers

    before = describe_landing(landing)
    day = date.fromisoformat(before["ingest_dates"][-1]) + timedelta(days=1)
    summary = add_sample_ingest_date(landing, day, customers=scaled_customers(scale / 100), seed=seed)
    new_lines = sum(summary["lines"].values())
    return {
        "ingest_date": day.isoformat(),
        "lines": summary["lines"],
        "total_lines": new_lines,
        "files": summary["files"],
        "share": new_lines / before["total_lines"],
    }


# --- counting ---------------------------------------------------------------------------------


def count_parquet(folders: dict[str, list[Path]]) -> dict[str, int]:
    """Rows per table, from the Parquet files (DuckDB reads only their footers)."""
    import duckdb

    counts = {}
    with duckdb.connect() as con:
        for table, files in folders.items():
            names = [str(f) for f in files]
            counts[table] = con.execute("SELECT count(*) FROM read_parquet(?)", [names]).fetchone()[0] if names else 0
    return counts


def lake_counts(lake: Path) -> dict[str, int]:
    """Rows per table in its current Iceberg snapshot (from the manifests' record counts)."""
    from stedi_assets.lake.catalog import LakeCatalog

    catalog = LakeCatalog(str(lake)).pyiceberg()
    return {t: int(catalog.load_table(("stedi", t)).scan().count()) for t in TABLES}


def baseline_counts(out: Path) -> dict[str, int]:
    return count_parquet({t: sorted((out / t).glob("ingest_date=*/*.parquet")) for t in TABLES})


def printed_counts(stdout: str) -> dict[str, int]:
    rows = [line.split() for line in stdout.splitlines()]
    return {row[0]: int(row[1]) for row in rows if len(row) == 2 and row[0] in TABLES and row[1].isdigit()}


# --- runs -------------------------------------------------------------------------------------


class Runner:
    def __init__(self, args, work: Path):
        self.args, self.work = args, work
        self.env = dict(os.environ)
        bin_dir = str(Path(sys.executable).parent)
        self.env["PATH"] = bin_dir + os.pathsep + self.env.get("PATH", "")
        self.env.setdefault("PYSPARK_PYTHON", sys.executable)
        self.env.pop("DAGSTER_HOME", None)
        self.env.pop("STEDI_BENCH_PROFILE", None)
        self.env[CLASS_CACHE_ENV] = str(work / "jvm-classes")

    def measure(self, name: str, command: list[str], folder: Path, env: dict | None = None) -> dict:
        log(f"  {name} ...")
        result = run_measured(
            command,
            env={**self.env, **(env or {})},
            cwd=REPO,
            log=folder / "logs" / name,
            cores=self.args.cores,
            timeout=self.args.timeout,
        )
        state = "ok" if result["exit_code"] == 0 else f"FAILED (exit {result['exit_code']}, see {result['log']})"
        log(f"  {name}: {result['wall_seconds']:.1f} s, peak {result['peak_rss_bytes'] / 2**30:.2f} GiB, {state}")
        return result

    def baseline(self, engine: str, landing: Path, folder: Path, attempt: int) -> dict:
        module = {"pyspark": "benchmarks.baseline_pyspark", "duckdb": "benchmarks.baseline_duckdb"}[engine]
        out = folder / f"baseline-{engine}"
        shutil.rmtree(out, ignore_errors=True)
        command = [sys.executable, "-m", module, "--landing", str(landing), "--out", str(out), "--no-counts"]
        if engine == "duckdb" and self.args.cores:
            command += ["--threads", str(self.args.cores)]
        result = self.measure(f"baseline-{engine}-{attempt + 1}", command, folder)
        if result["exit_code"] == 0:
            result["counts"] = baseline_counts(out)
        return result

    def platform(self, name: str, landing: Path, lake: Path, home: Path, folder: Path, profiled: bool = True) -> dict:
        """A `stedi materialize` run; profiled (timers around checks and writes) unless it should be timed bare."""
        profile = folder / "logs" / f"{name}.profile.json"
        command = [
            sys.executable,
            "-m",
            "benchmarks.profiled_materialize" if profiled else "stedi_assets.cli",
            *([] if profiled else ["materialize"]),
            "--landing",
            str(landing),
            "--lake",
            str(lake),
        ]
        result = self.measure(
            name,
            command,
            folder,
            env={
                "DAGSTER_HOME": str(home),
                "STEDI_BENCH_PROFILE": str(profile),
                "STEDI_PSEUDONYM_KEY": BENCHMARK_PSEUDONYM_KEY,
            },
        )
        loaded = json.loads(profile.read_text()) if profile.is_file() else None
        try:
            events = run_events(home)
        except Exception as error:  # a broken instance must not lose the timings
            events, result["events_error"] = None, repr(error)
        if events and loaded and events["steps"] and events["steps"][0]["start"] < loaded["imported"]:
            events = None  # the newest run is an older one: this command started no run (no-op)
        result["events"] = events
        result["profile_coverage"] = {k: loaded[k] for k in ("instrumented", "missing")} if loaded else None
        result["breakdown"] = attribute(result, events, loaded)
        result["printed_counts"] = printed_counts(result["stdout"])
        return result

    def save_jvm_classes(self, landing: Path, folder: Path) -> dict:
        """A user's first run saves the class archive every later Spark JVM starts from (`jvm_classes`): so
        does an untimed run here, before the timed ones, the baselines' included."""
        first_run = self.from_empty_lake("platform-first-run", landing, folder, folder / "first-run", profiled=False)
        shutil.rmtree(folder / "first-run", ignore_errors=True)
        return {key: first_run[key] for key in ("wall_seconds", "exit_code", "log")}

    def from_empty_lake(self, name: str, landing: Path, folder: Path, under: Path, profiled: bool = True) -> dict:
        """A platform run from an empty lake and a new Dagster instance, both `under` a folder."""
        lake, home = lake_and_home(under)
        shutil.rmtree(lake, ignore_errors=True)
        shutil.rmtree(home, ignore_errors=True)
        home.mkdir(parents=True)
        shutil.copy(REPO / "dagster.yaml", home / "dagster.yaml")
        return self.platform(name, landing, lake, home, folder, profiled)

    def full_run(self, landing: Path, folder: Path, attempt: int) -> dict:
        return self.from_empty_lake(f"platform-full-{attempt + 1}", landing, folder, folder)

    def side_by_side(self, landing: Path, folder: Path, repeat: int) -> dict[str, dict]:
        """Both baselines and the full run, taken in turns: a machine that slows down or speeds up during the
        benchmark (other tenants, throttling) then weighs on all three alike. Medians of `repeat` turns."""
        turns = {"duckdb": [], "pyspark": [], "full": []}
        for attempt in range(repeat):
            turns["duckdb"].append(self.baseline("duckdb", landing, folder, attempt))
            turns["pyspark"].append(self.baseline("pyspark", landing, folder, attempt))
            turns["full"].append(self.full_run(landing, folder, attempt))
        runs = {name: summarize(attempts) for name, attempts in turns.items()}
        if runs["full"]["exit_code"] == 0:
            runs["full"]["counts"] = lake_counts(lake_and_home(folder)[0])
        return runs

    def scale(self, scale: float, repeat: int) -> dict:
        args = self.args
        folder = self.work / f"scale-{scale:g}"
        shutil.rmtree(folder, ignore_errors=True)
        landing = folder / "landing"
        folder.mkdir(parents=True)
        log(f"{scale_label(scale)}: landing data ...")
        starter = Path(args.starter).resolve() if args.starter else None
        data = prepare_landing(scale, starter, landing, args.seed)
        log(
            f"{scale_label(scale)}: {data['total_lines']:,} lines in {data['files']} files "
            f"({data['bytes'] / 2**20:.0f} MiB) from {data['origin']}, in {data['seconds']:.1f} s"
        )
        result = {"scale": scale, "data": data, "load_average_before": os.getloadavg(), "runs": {}}
        runs = result["runs"]

        if not any(Path(self.env[CLASS_CACHE_ENV]).glob("*.jsa")):
            result["first_run"] = self.save_jvm_classes(landing, folder)
        runs.update(self.side_by_side(landing, folder, repeat))
        lake, home = lake_and_home(folder)  # the last full run's, which the incremental run continues
        result["new_date"] = add_new_date(scale, landing, args.seed)
        log(
            f"{scale_label(scale)}: new ingest date {result['new_date']['ingest_date']} with "
            f"{result['new_date']['total_lines']:,} lines ({result['new_date']['share']:.1%})"
        )
        runs["incremental"] = self.platform("platform-incremental", landing, lake, home, folder)
        if runs["incremental"]["exit_code"] == 0:
            runs["incremental"]["counts"] = lake_counts(lake)
        runs["noop"] = self.platform("platform-noop", landing, lake, home, folder, profiled=False)
        # The same tables rebuilt from all the files now landed, to check the incremental run's.
        runs["duckdb_after"] = self.baseline("duckdb", landing, folder / "after-new-date", 0)
        result["load_average_after"] = os.getloadavg()
        result["verification"] = verify(result, starter is not None and scale == 1)
        for problem in result["verification"]["problems"]:
            log(f"  MISMATCH: {problem}")
        if not args.keep_data:
            for path in (
                landing,
                lake,
                folder / "baseline-pyspark",
                folder / "baseline-duckdb",
                folder / "after-new-date" / "baseline-duckdb",
            ):
                shutil.rmtree(path, ignore_errors=True)
        return result


def lake_and_home(folder: Path) -> tuple[Path, Path]:
    """Where a scale's full runs build their lake and Dagster instance."""
    return folder / "lake", folder / "dagster_home"


def summarize(runs: list[dict]) -> dict:
    """Repeated runs: the median wall time, the largest peak memory; the other fields of the last run."""
    result = dict(runs[-1])
    if len(runs) > 1:
        result["wall_seconds"] = statistics.median(r["wall_seconds"] for r in runs)
        result["peak_rss_bytes"] = max(r["peak_rss_bytes"] for r in runs)
        result["max_load_average"] = max(r["max_load_average"] for r in runs)
        result["exit_code"] = max(r["exit_code"] for r in runs)
    result["repeats"] = [r["wall_seconds"] for r in runs]
    return result


def verify(result: dict, on_starter: bool) -> dict:
    """The platform and both baselines hold the same row counts (the contract's, on the starter data)."""
    runs, problems = result["runs"], []
    full = runs["full"].get("counts")
    reference = STARTER_COUNTS if on_starter else full
    compared = {
        "platform (full)": full,
        "platform (printed)": runs["full"].get("printed_counts"),
        "pyspark baseline": runs["pyspark"].get("counts"),
        "duckdb baseline": runs["duckdb"].get("counts"),
    }
    for name, counts in compared.items():
        if counts is None:
            problems.append(f"{name}: no counts (the run failed)")
        elif counts != reference:
            diff = {t: (counts.get(t), reference.get(t)) for t in TABLES if counts.get(t) != reference.get(t)}
            problems.append(f"{name} differs from {'the contract' if on_starter else 'platform (full)'}: {diff}")
    incremental, rebuilt = runs["incremental"].get("counts"), runs["duckdb_after"].get("counts")
    if incremental is not None and rebuilt is not None and incremental != rebuilt:
        diff = {t: (incremental.get(t), rebuilt.get(t)) for t in TABLES if incremental.get(t) != rebuilt.get(t)}
        problems.append(f"platform after the incremental run differs from a DuckDB rebuild: {diff}")
    return {
        "reference": "contract" if on_starter else "platform (full)",
        "counts": full,
        "counts_after_new_date": incremental,
        "problems": problems,
    }


def environment(cores: int | None) -> dict:
    from importlib.metadata import PackageNotFoundError, version

    def package(name):
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    java = subprocess.run(["java", "-version"], capture_output=True, text=True)
    memory = next(
        (
            int(line.split()[1]) * 1024
            for line in Path("/proc/meminfo").read_text().splitlines()
            if line.startswith("MemTotal:")
        ),
        None,
    )
    available = len(os.sched_getaffinity(0))
    return {
        "date": datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "cpus": os.cpu_count(),
        "cores_used": min(cores, available) if cores else available,
        "memory_bytes": memory,
        "load_average": os.getloadavg(),
        "python": platform.python_version(),
        "java": (java.stderr or java.stdout).splitlines()[0] if java.returncode == 0 else None,
        "packages": {name: package(name) for name in ("dagster", "pyspark", "pandera", "duckdb")},
    }


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_argument(
        "--scales",
        type=float,
        nargs="+",
        default=[1.0, 10.0, 100.0],
        help="scale factors of the starter volume (default: 1 10 100)",
    )
    cli.add_argument("--starter", help="the public starter data: used as the 1× data set (else generated)")
    cli.add_argument("--out", default="benchmarks/results/latest.md", help="Markdown report (default: %(default)s)")
    cli.add_argument("--json", help="raw results (default: benchmarks/results/<name of --out>.json)")
    cli.add_argument("--work", help="folder for data, lakes and instances (default: a temporary folder, removed)")
    cli.add_argument("--keep-data", action="store_true", help="keep landing data, lakes and baseline outputs")
    cli.add_argument("--cores", type=int, default=2, help="CPUs every command is pinned to (default: 2)")
    cli.add_argument(
        "--repeat",
        type=int,
        nargs="+",
        default=[1],
        help="turns of both baselines and the full build (medians): one number for every scale, or one per scale",
    )
    cli.add_argument("--seed", type=int, default=7)
    cli.add_argument("--timeout", type=float, default=4 * 3600, help="seconds one command may take")
    args = cli.parse_args(argv)
    if len(args.repeat) not in (1, len(args.scales)):
        cli.error(f"--repeat: one number, or one per scale ({len(args.scales)})")
    repeats = args.repeat * len(args.scales) if len(args.repeat) == 1 else args.repeat
    if args.starter and not (Path(args.starter) / "customer" / "landing").is_dir():
        cli.error(f"--starter {args.starter}: no customer/landing folder there")

    out = Path(args.out)
    raw = Path(args.json) if args.json else REPO / "benchmarks" / "results" / f"{out.stem}.json"
    temporary = args.work is None
    work = Path(tempfile.mkdtemp(prefix="stedi-bench-")) if temporary else Path(args.work).resolve()
    work.mkdir(parents=True, exist_ok=True)
    log(f"work folder: {work}")
    report = {"environment": environment(args.cores), "arguments": vars(args), "scales": []}
    try:
        for scale, repeat in zip(args.scales, repeats):
            report["scales"].append(Runner(args, work).scale(scale, repeat))
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(render(report))  # after every scale, so a long run leaves what it measured
            raw.parent.mkdir(parents=True, exist_ok=True)
            raw.write_text(json.dumps(report, indent=1, default=str))
            log(f"wrote {out} and {raw}")
    finally:
        if temporary and not args.keep_data:
            shutil.rmtree(work, ignore_errors=True)
    print(render(report))
    failed = any(r["exit_code"] != 0 for s in report["scales"] for r in s["runs"].values())
    mismatched = any(s["verification"]["problems"] for s in report["scales"])
    return 1 if failed or mismatched else 0


if __name__ == "__main__":
    sys.exit(main())
