"""The benchmark's results as Markdown (for the README)."""

from benchmarks.profiled_materialize import PARSE, SPARK_WAIT, WRITE

GIB = 2**30
RUNS = [
    ("full", "platform: full materialization, all checks, empty lake"),
    ("incremental", "platform: incremental, one new ingest date"),
    ("noop", "platform: no-op (nothing new landed)"),
    ("pyspark", "baseline: plain PySpark, same 9 tables"),
    ("duckdb", "baseline: DuckDB SQL, same 9 tables"),
]
# Issue 31's goals; the delivery's (a one-date delivery after a build over 3 dates: at most a quarter of that build)
# is the dates axis's (`benchmarks/dates_axis.py`).
GOALS = {
    "full_vs_pyspark": {1.0: 1.4, 10.0: 1.3},
    "noop_seconds": 5.0,
    "peak_gib_100": 8.0,
    "growth_10_to_100": 12.0,
}


def _s(seconds) -> str:
    return "–" if seconds is None else f"{seconds:,.1f}"


def _gib(size) -> str:
    return "–" if not size else f"{size / GIB:.2f}"


def _ratio(a, b) -> str:
    return "–" if not a or not b else f"{a / b:.2f}"


def _ok(run: dict | None) -> bool:
    return bool(run) and run.get("exit_code") == 0


def _wall(run: dict | None):
    return run["wall_seconds"] if _ok(run) else None


def _label(scale: float) -> str:
    return f"{scale:g}×"


def render(report: dict) -> str:
    env = report["environment"]
    lines = ["# STEDI lakehouse benchmark", ""]
    packages = ", ".join(f"{name} {v}" for name, v in env["packages"].items() if v)
    lines += [
        f"Measured {env['date']} with `python -m benchmarks.run` on {env['cores_used']} cores "
        f"(of {env['cpus']}) and {env['memory_bytes'] / GIB:.0f} GiB of memory; Python {env['python']}, "
        f"{env['java'] or 'no Java found'}; {packages}.",
        "",
    ]
    busiest = max(
        [env["load_average"][0]]
        + [s["load_average_before"][0] for s in report["scales"]]
        + [r.get("max_load_average", 0) for s in report["scales"] for r in s["runs"].values()]
    )
    if busiest > env["cores_used"]:
        lines += [
            f"> **The machine was busy**: load average up to {busiest:.1f} on {env['cpus']} CPUs while this ran. "
            "Other work competed for the cores, so every time here is inflated, the baselines' too; "
            "the ratios are the more telling numbers.",
            "",
        ]
    lines += _summary(report) + _goals(report)
    for result in report["scales"]:
        lines += _scale(result)
    lines += _notes()
    return "\n".join(lines) + "\n"


def _summary(report: dict) -> list[str]:
    out = [
        "## Summary",
        "",
        "| scale | input lines | full | incremental | no-op | PySpark baseline | DuckDB baseline "
        "| full ÷ PySpark | full ÷ DuckDB | peak memory, full |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for result in report["scales"]:
        runs = result["runs"]
        full = _wall(runs["full"])
        out.append(
            f"| {_label(result['scale'])} | {result['data']['total_lines']:,} | {_s(full)} s "
            f"| {_s(_wall(runs['incremental']))} s | {_s(_wall(runs['noop']))} s | {_s(_wall(runs['pyspark']))} s "
            f"| {_s(_wall(runs['duckdb']))} s | {_ratio(full, _wall(runs['pyspark']))} "
            f"| {_ratio(full, _wall(runs['duckdb']))} | {_gib(runs['full'].get('peak_rss_bytes'))} GiB |"
        )
    return out + [""]


def _goals(report: dict) -> list[str]:
    by_scale = {r["scale"]: r for r in report["scales"]}
    rows = []

    def row(goal, target, value, met):
        rows.append(f"| {goal} | {target} | {value} | {'–' if met is None else ('yes' if met else '**no**')} |")

    for scale, target in GOALS["full_vs_pyspark"].items():
        if result := by_scale.get(scale):
            full, pyspark = _wall(result["runs"]["full"]), _wall(result["runs"]["pyspark"])
            ratio = full and pyspark and full / pyspark
            row(
                f"{_label(scale)} ({result['data']['origin']}): full materialization with all checks ÷ plain PySpark",
                f"≤ {target}",
                f"{ratio:.2f}" if ratio else "–",
                None if not ratio else ratio <= target,
            )
    for scale, result in by_scale.items():
        noop = _wall(result["runs"]["noop"])
        row(
            f"{_label(scale)}: no-op run",
            f"< {GOALS['noop_seconds']:g} s",
            f"{_s(noop)} s",
            None if noop is None else noop < GOALS["noop_seconds"],
        )
    hundred = by_scale.get(100.0)
    if hundred:
        full = hundred["runs"]["full"]
        peak = full.get("peak_rss_bytes")
        row(
            "100×: completes on 2 cores, peak memory of the full run",
            f"< {GOALS['peak_gib_100']:g} GiB",
            f"{_gib(peak)} GiB" + ("" if _ok(full) else " (failed)"),
            _ok(full) and peak is not None and peak / GIB < GOALS["peak_gib_100"],
        )
    ten = by_scale.get(10.0)
    if ten and hundred:
        a, b = _wall(ten["runs"]["full"]), _wall(hundred["runs"]["full"])
        growth = a and b and b / a
        row(
            "full run time, 10× → 100×",
            f"≤ {GOALS['growth_10_to_100']:g}-fold",
            f"{growth:.1f}-fold" if growth else "–",
            None if not growth else growth <= GOALS["growth_10_to_100"],
        )
    if not rows:
        return []
    return ["## Goals", "", "| goal | target | measured | met |", "|---|---|---:|---|", *rows, ""]


def _scale(result: dict) -> list[str]:
    data, runs, new = result["data"], result["runs"], result["new_date"]
    lines = data["lines"]
    out = [
        f"## {_label(result['scale'])}: {data['origin']}",
        "",
        f"Input: {data['total_lines']:,} lines ({lines['customer']:,} customer, {lines['accelerometer']:,} "
        f"accelerometer, {lines['step_trainer']:,} step trainer) in {data['files']} files, "
        f"{data['bytes'] / 2**20:,.1f} MiB, ingest dates {', '.join(data['ingest_dates'])}. "
        f"The new ingest date {new['ingest_date']} adds {new['total_lines']:,} lines ({new['share']:.1%}). "
        "*load* is the machine's 1-minute load average, at its highest during the run.",
        "",
        "| run | wall (s) | peak memory (GiB) | input lines | rows/s | × PySpark baseline | × DuckDB baseline | load |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    pyspark, duckdb = _wall(runs["pyspark"]), _wall(runs["duckdb"])
    for key, title in RUNS:
        run = runs[key]
        wall = _wall(run)
        rows_in = {"incremental": new["total_lines"], "noop": 0}.get(key, data["total_lines"])
        rate = f"{rows_in / wall:,.0f}" if wall and rows_in else "–"
        status = "" if _ok(run) else f" — **failed** (exit {run.get('exit_code')}, log `{run.get('log')}`)"
        repeats = run.get("repeats", [])
        spread = f" (median of {len(repeats)}: {', '.join(_s(r) for r in repeats)})" if len(repeats) > 1 else ""
        out.append(
            f"| {title}{status} | {_s(wall)}{spread} | {_gib(run.get('peak_rss_bytes'))} | {rows_in:,} | {rate} "
            f"| {_ratio(wall, pyspark)} | {_ratio(wall, duckdb)} | {run.get('max_load_average', 0):.1f} |"
        )
    out.append("")
    if result.get("first_run"):
        out += [
            f"Before these, an untimed first run ({_s(result['first_run']['wall_seconds'])} s) saved the JVM class "
            "archive that every Spark JVM here starts from, the PySpark baseline's too.",
            "",
        ]
    peaks = runs["full"].get("peak_rss_by_command") or {}
    if peaks:
        biggest = [kv for kv in sorted(peaks.items(), key=lambda kv: -kv[1])[:4] if kv[1] >= 0.01 * GIB]
        out += [
            "Largest processes of the full run at their peak: "
            + ", ".join(f"`{name}` {size / GIB:.2f} GiB" for name, size in biggest)
            + ".",
            "",
        ]
    verification = result["verification"]
    if verification["problems"]:
        out += ["**Row counts disagree:**", ""] + [f"- {p}" for p in verification["problems"]] + [""]
    else:
        counts = verification["counts"] or {}
        agreed = "the data contract's counts" if verification["reference"] == "contract" else "each other"
        out += [
            f"Row counts: the platform's nine tables and both baselines' agree with {agreed} "
            f"({' / '.join(f'{v:,}' for v in counts.values())}); after the new ingest date the platform's "
            "tables equal a DuckDB rebuild from all files.",
            "",
        ]
    out += _breakdown(runs)
    return out


def _split(parts: dict, total: float) -> str:
    parse = parts.get(PARSE, 0.0)
    compute = parts.get("compute + digest", 0.0)
    write = parts.get(WRITE, 0.0)
    checks = sum(v for k, v in parts.items() if k.startswith("check: "))
    other = total - parse - compute - write - checks - parts.get(SPARK_WAIT, 0.0)
    return f"{parse:.1f} | {compute:.1f} | {write:.1f} | {checks:.1f} | {other:.1f}"


def _step_table(title: str, run: dict) -> list[str]:
    breakdown, wall = run["breakdown"], run["wall_seconds"]
    out = [
        title,
        "",
        "| phase or step | s | share | parse | compute + digest | write | checks | other |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for phase in breakdown["phases"]:
        if phase["name"] == "after the last step":
            for step in breakdown["steps"]:
                out.append(
                    f"| step `{step['step']}` | {step['seconds']:.1f} | {step['seconds'] / wall:.0%} "
                    f"| {_split(step['parts'], step['seconds'])} |"
                )
        name = phase["name"]
        if waited := phase.get("parts", {}).get(SPARK_WAIT):
            name += f" (of which waiting for Spark to start {waited:.1f} s)"
        out.append(f"| {name} | {phase['seconds']:.1f} | {phase['seconds'] / wall:.0%} | | | | | |")
    checks = sum(v for k, v in breakdown.get("labels", {}).items() if k.startswith("check: "))
    out += [
        f"| **total (wall)**, of which checks {checks:.1f} s ({checks / wall:.0%}) | **{wall:.1f}** | 100% | | | | | |",
        "",
    ]
    return out


def _breakdown(runs: dict) -> list[str]:
    full, incremental, noop = runs["full"], runs["incremental"], runs["noop"]
    if not full.get("breakdown"):
        return []
    b_full, wall = full["breakdown"], full["wall_seconds"]
    out = [
        "### Where the platform's time goes",
        "",
        "Per phase and per step (a step is one asset with its checks). *parse* is reading and typing the landed "
        "files (the first action on the persisted parse, which also counts what landed and digests the landing "
        "and quarantine rows). *compute + digest* is the first Spark "
        "action on another table's new rows (the row counts and content digest of each partition), so it includes "
        "computing the transform; *write* is writing the data files and the Iceberg commit; "
        "*checks* are the asset's checks; "
        "*other* is the rest of the step (Dagster, lake reads and listings, Spark planning). The first Spark job "
        "of a run also pays for warming up the JVM and starting Spark's Python workers: it is in the first "
        "step, whatever that step does first.",
        "",
    ]
    out += _step_table("Full run:", full)
    if incremental.get("breakdown") and _ok(incremental):
        out += _step_table("Incremental run (one new ingest date):", incremental)
    if b_full["checks"]:
        out += [
            "Checks of the full run, slowest first:",
            "",
            "| check | step | s | share of the full run |",
            "|---|---|---:|---:|",
        ]
        by_check: dict[str, float] = {}
        quick = set()
        for check in b_full["checks"]:
            by_check[check["check"]] = by_check.get(check["check"], 0.0) + check["seconds"]
            if check["seconds"] < 0.01:
                quick.add(check["check"])
                continue
            out.append(
                f"| {check['check']} | `{check['step']}` | {check['seconds']:.2f} | {check['seconds'] / wall:.1%} |"
            )
        out.append("")
        if quick:
            out += [f"Under 0.01 s each, not listed: {', '.join(sorted(quick))} (where not listed above).", ""]
        out += [
            "Per check, over all assets: "
            + ", ".join(f"{name} {seconds:.1f} s" for name, seconds in sorted(by_check.items(), key=lambda kv: -kv[1]))
            + ".",
            "",
        ]
    if noop.get("breakdown") and _ok(noop):
        phases = ", ".join(f"{p['name']} {p['seconds']:.1f} s" for p in noop["breakdown"]["phases"])
        out += [f"No-op run: {phases}.", ""]
    missing = (full.get("profile_coverage") or {}).get("missing")
    if missing:
        out += [f"Not profiled (no longer found by name): {', '.join(missing)}.", ""]
    return out


def _notes() -> list[str]:
    return [
        "## How to read this",
        "",
        "- *wall*: from starting the command to its exit, including Python imports and starting Spark's JVM.",
        "- *peak memory*: the largest sum of the resident memory of the command's processes (Python, the JVM, "
        "Spark's Python workers), sampled every 0.2 s.",
        "- *rows/s*: landed lines taken in per second of wall time: all of them for full runs and baselines, "
        "the new ingest date's for the incremental run.",
        "- *× baseline*: wall time divided by the baseline's wall time on the same data in the same benchmark run.",
        "- Spark's JVM, the platform's and the PySpark baseline's alike, starts from a class archive "
        "(`stedi_assets/jvm_classes.py`) that a first, untimed platform run saved, as a user's first run does.",
        "- The platform runs `stedi materialize` with a persistent Dagster instance (`$DAGSTER_HOME`, as for "
        "`dagster dev`); its event log gives the step times, and timers around the check, digest and write "
        "functions (`benchmarks/profiled_materialize.py`) split each step.",
        "",
    ]
