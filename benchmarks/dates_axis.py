"""The dates axis: the same starter data spread over 3, 100 and 365 ingest dates; at each, a full build, then
a one-date delivery of 40 accelerometer and 10 step trainer lines on a new date, timed with the Dagster
events its run stored. The delivery runs `--repeat` times from the same built lake, and the median counts:
a single run of about a minute varies by 10% or more on a busy 2-core machine.

    python -m benchmarks.dates_axis --starter ../shared/data/stedi-starter --out benchmarks/dates-axis.md

With `--spark-master warm` the runs share a warm local Spark server (`stedi_assets.warm_spark`): each layout's
full build starts a new one, and its deliveries find it warm, as a user's next runs would.

The goals (a run does the work that changed): at 3 dates, the delivery takes at most a quarter of the full
build's time; at 100 dates, it takes at most 1.3× the time and stores at most 1.5× the events of the same
delivery at 3 dates. Each full build's row counts are checked against the data contract's.
"""

import argparse
import json
import shutil
import statistics
import sys
import tempfile
from datetime import date, timedelta
from pathlib import Path

from benchmarks.layout import SOURCES, STARTER_COUNTS, landing_files
from benchmarks.run import Runner, environment, lake_and_home, lake_counts, log
from stedi_assets.warm_spark import IDLE_ENV, SERVERS_ENV

FIRST_DATE = date(2023, 1, 1)
DELIVERY_LINES = {"accelerometer": 40, "step_trainer": 10}
# The delivery's readings are the first lines of each source, moved 30 days later: new readings, same customers.
READING_TIME = {"accelerometer": "timestamp", "step_trainer": "sensorReadingTime"}
SHIFT_MS = 30 * 24 * 3600 * 1000
GOALS = {"of_the_build": 0.25, "time": 1.3, "events": 1.5}


def source_lines(starter: Path, source: str) -> list[str]:
    return [line for name in landing_files(starter, source) for line in Path(name).read_text().splitlines() if line]


def spread(starter: Path, landing: Path, dates: int) -> list[str]:
    """Every source's lines, in file order, cut into `dates` consecutive ingest dates (one file each)."""
    days = [(FIRST_DATE + timedelta(days=n)).isoformat() for n in range(dates)]
    for source in SOURCES:
        lines = source_lines(starter, source)
        for n, day in enumerate(days):
            chunk = lines[n * len(lines) // dates : (n + 1) * len(lines) // dates]
            folder = landing / source / "landing" / f"ingest_date={day}"
            folder.mkdir(parents=True)
            (folder / f"{source}-{n}.json").write_text("".join(line + "\n" for line in chunk))
    return days


def deliver(starter: Path, landing: Path, day: str) -> int:
    """The delivery: new readings of existing customers on a new date; returns its line count."""
    for source, count in DELIVERY_LINES.items():
        records = [json.loads(line) for line in source_lines(starter, source)[:count]]
        for record in records:
            record[READING_TIME[source]] += SHIFT_MS
        folder = landing / source / "landing" / f"ingest_date={day}"
        folder.mkdir(parents=True)
        (folder / f"{source}-delivery.json").write_text("".join(json.dumps(r) + "\n" for r in records))
    return sum(DELIVERY_LINES.values())


def stored_events(home: Path) -> dict:
    """The events the instance stored for its newest run: how many, and their serialized size."""
    import dagster as dg
    from dagster._serdes import serialize_value

    with dg.DagsterInstance.from_config(str(home)) as instance:
        (run,) = instance.get_runs(limit=1)
        events = instance.all_logs(run.run_id)
        materialized = [
            e for e in events if e.dagster_event and e.dagster_event.event_type_value == "ASSET_MATERIALIZATION"
        ]
        return {
            "events": len(events),
            "bytes": sum(len(serialize_value(e)) for e in events),
            "materializations": len(materialized),
        }


def measure(runner: Runner, starter: Path, work: Path, dates: int, repeat: int) -> dict:
    folder = work / f"dates-{dates}"
    landing = folder / "landing"
    runner.env[SERVERS_ENV] = str(work / f"spark-servers-{dates}")  # a warm server is new to each layout
    days = spread(starter, landing, dates)
    log(f"{dates} ingest dates: full build ...")
    full = runner.from_empty_lake("full", landing, folder, folder, profiled=False)
    lake, home = lake_and_home(folder)
    counts = lake_counts(lake) if full["exit_code"] == 0 else None
    full_events = stored_events(home)
    # Each delivery starts from the lake as the full build left it: the catalog holds absolute paths, so the
    # folder is restored in place from a copy.
    built = work / f"dates-{dates}-built"
    shutil.copytree(folder, built, symlinks=True)
    new_day = (date.fromisoformat(days[-1]) + timedelta(days=1)).isoformat()
    deliveries = []
    for attempt in range(repeat):
        shutil.rmtree(folder)
        shutil.copytree(built, folder, symlinks=True)
        lines = deliver(starter, landing, new_day)
        deliveries.append(runner.platform(f"delivery-{attempt + 1}", landing, lake, home, folder, profiled=False))
    result = {
        "dates": dates,
        "full_seconds": full["wall_seconds"],
        "full_events": full_events,
        "counts_match_contract": counts == STARTER_COUNTS,
        "delivery_lines": lines,
        "delivery_seconds": statistics.median(d["wall_seconds"] for d in deliveries),
        "delivery_runs": [round(d["wall_seconds"], 1) for d in deliveries],
        "delivery_events": stored_events(home),
        "exit_codes": [full["exit_code"], *(d["exit_code"] for d in deliveries)],
    }
    log(f"{dates} ingest dates: {json.dumps(result)}")
    shutil.rmtree(folder, ignore_errors=True)
    shutil.rmtree(built, ignore_errors=True)
    return result


def render(results: list[dict], env: dict) -> str:
    base = results[0]
    lines = [
        "# The dates axis",
        "",
        f"Measured {env['date']} with `python -m benchmarks.dates_axis` on {env['cores_used']} cores; "
        f"load average before: {env['load_average'][0]:.1f}. The starter data (110,909 lines) spread over N ingest "
        f"dates; then a delivery of {sum(DELIVERY_LINES.values())} lines (40 accelerometer, 10 step trainer) on a new "
        "date, run several times from the same built lake (delivery: the median; each run's time in the last "
        "column). Events: what the Dagster instance stored for the run. Every Spark JVM starts from the class "
        "archive an untimed first run saved, as a user's first run does. "
        + (
            "The runs share a warm local Spark server (`--spark-master warm`): each full build starts one, and its "
            "deliveries find it warm."
            if env["spark_master"] == "warm"
            else "Each run starts its own local Spark."
        ),
        "",
        "| ingest dates | full build | its events | delivery | delivery ÷ full build | its events | its event data "
        f"| delivery time ÷ {base['dates']} dates | events ÷ {base['dates']} dates | contract counts | delivery runs |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for r in results:
        time_ratio = r["delivery_seconds"] / base["delivery_seconds"]
        event_ratio = r["delivery_events"]["events"] / base["delivery_events"]["events"]
        lines.append(
            f"| {r['dates']} | {r['full_seconds']:.1f} s | {r['full_events']['events']:,} | "
            f"{r['delivery_seconds']:.1f} s | {r['delivery_seconds'] / r['full_seconds']:.2f} | "
            f"{r['delivery_events']['events']:,} | "
            f"{r['delivery_events']['bytes'] / 1024:.0f} KiB | {time_ratio:.2f} | {event_ratio:.2f} | "
            f"{'yes' if r['counts_match_contract'] else '**no**'} | {', '.join(f'{t} s' for t in r['delivery_runs'])} |"
        )
    if base["dates"] == 3:
        share = base["delivery_seconds"] / base["full_seconds"]
        lines += [
            "",
            f"Goal at 3 dates: the delivery ≤ {GOALS['of_the_build']} of the full build (measured {share:.2f}): "
            f"**{'met' if share <= GOALS['of_the_build'] else 'not met'}**.",
        ]
    at_100 = next((r for r in results if r["dates"] == 100), None)
    if at_100:
        time_ratio = at_100["delivery_seconds"] / base["delivery_seconds"]
        event_ratio = at_100["delivery_events"]["events"] / base["delivery_events"]["events"]
        met = time_ratio <= GOALS["time"] and event_ratio <= GOALS["events"]
        lines += [
            "",
            f"Goal at 100 dates against {base['dates']}: delivery time ≤ {GOALS['time']}× (measured "
            f"{time_ratio:.2f}×) and events ≤ {GOALS['events']}× (measured {event_ratio:.2f}×): "
            f"**{'met' if met else 'not met'}**.",
        ]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_argument("--starter", required=True, help="the public starter data")
    cli.add_argument("--dates", type=int, nargs="+", default=[3, 100, 365], help="(default: %(default)s)")
    cli.add_argument("--out", default="benchmarks/dates-axis.md")
    cli.add_argument("--cores", type=int, default=2)
    cli.add_argument("--timeout", type=float, default=3600)
    cli.add_argument("--repeat", type=int, default=3, help="deliveries per layout, the median reported")
    cli.add_argument("--spark-master", default="local[*]", help="local[*] (default) or warm")
    args = cli.parse_args(argv)
    starter = Path(args.starter).resolve()
    work = Path(tempfile.mkdtemp(prefix="stedi-dates-"))
    try:
        env = environment(args.cores)
        runner = Runner(args, work)
        runner.save_jvm_classes(starter, work)  # untimed, as in `benchmarks.run`: else the first build saves it
        runner.env.update({"STEDI_SPARK_MASTER": args.spark_master, IDLE_ENV: "60"})
        results = [measure(runner, starter, work, dates, args.repeat) for dates in args.dates]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    report = render(results, {**env, "spark_master": args.spark_master})
    Path(args.out).write_text(report)
    print(report)
    return 0 if all(code == 0 for r in results for code in r["exit_codes"]) else 1


if __name__ == "__main__":
    sys.exit(main())
