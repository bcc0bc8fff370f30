"""Where a platform run's time went: its steps (Dagster's event log) and the profiled calls inside them."""

from pathlib import Path


def run_events(dagster_home: Path) -> dict | None:
    """Steps, resource init and check evaluations of the newest run in the instance at dagster_home."""
    import dagster as dg

    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = instance.get_runs(limit=1)
        if not runs:
            return None
        run = runs[0]
        steps: dict[str, dict] = {}
        resources, checks = {}, []
        for entry in instance.all_logs(run.run_id):
            event = entry.dagster_event
            if event is None:
                continue
            kind = event.event_type_value
            if kind == "STEP_START":
                steps.setdefault(entry.step_key, {})["start"] = entry.timestamp
            elif kind in ("STEP_SUCCESS", "STEP_FAILURE", "STEP_SKIPPED"):
                steps.setdefault(entry.step_key, {}).update(end=entry.timestamp, status=kind.removeprefix("STEP_"))
            elif kind == "RESOURCE_INIT_STARTED":
                resources["start"] = entry.timestamp
            elif kind == "RESOURCE_INIT_SUCCESS":
                resources["end"] = entry.timestamp
            elif kind == "ASSET_CHECK_EVALUATION":
                evaluation = event.event_specific_data
                checks.append(
                    {
                        "asset": evaluation.asset_key.to_user_string(),
                        "check": evaluation.check_name,
                        "passed": evaluation.passed,
                        "severity": evaluation.severity.value,
                        "step": entry.step_key,
                    }
                )
        ordered = sorted(
            ({"step": key, **value} for key, value in steps.items() if "start" in value),
            key=lambda step: step["start"],
        )
        return {
            "run_id": run.run_id,
            "status": run.status.value,
            "steps": ordered,
            "resource_init": resources,
            "checks": checks,
        }


def _exclusive(calls: list[dict]) -> list[dict]:
    """Each call with its time less the time of the profiled calls directly inside it."""
    result = []
    for call in calls:
        inner = sum(
            other["end"] - other["start"]
            for other in calls
            if other["depth"] == call["depth"] + 1 and call["start"] <= other["start"] and other["end"] <= call["end"]
        )
        result.append({**call, "seconds": call["end"] - call["start"] - inner})
    return result


def attribute(measured: dict, events: dict | None, profile: dict | None) -> dict:
    """Split a platform run's wall time into phases and steps, and each step into its profiled parts.

    Phases: Python start and imports; before the first step (definitions, instance,
    partitions, resource init, which starts Spark); each step; after the last step.
    Within a step: each profiled label's exclusive time, and `other` (the rest:
    Dagster, lake reads and listings, Spark planning, Python between the calls).
    """
    wall = measured["wall_seconds"]
    spawned, ended = measured["spawned"], measured["ended"]
    if not profile:
        return {"phases": [{"name": "whole run", "seconds": wall}], "steps": [], "checks": [], "labels": {}}
    calls = _exclusive(profile["calls"])
    steps = [s for s in (events or {}).get("steps", []) if "end" in s]
    phases = [{"name": "Python start and imports", "seconds": profile["imported"] - spawned}]
    step_rows, checks, labels = [], [], {}

    def inside(call, start, end):
        return start <= call["start"] < end

    if steps:
        first, last = steps[0]["start"], steps[-1]["end"]
        before = [c for c in calls if inside(c, profile["imported"], first)]
        phases.append(
            {"name": "before the first step", "seconds": first - profile["imported"], "parts": _by_label(before)}
        )
        for step in steps:
            mine = [c for c in calls if inside(c, step["start"], step["end"])]
            parts = _by_label(mine)
            step_rows.append(
                {
                    "step": step["step"],
                    "status": step.get("status"),
                    "seconds": step["end"] - step["start"],
                    "parts": parts,
                }
            )
            for label, seconds in parts.items():
                labels[label] = labels.get(label, 0.0) + seconds
                if label.startswith("check: "):
                    checks.append({"step": step["step"], "check": label.removeprefix("check: "), "seconds": seconds})
        phases.append({"name": "after the last step", "seconds": ended - last})
    else:  # no Dagster run: the no-op path, or a run that failed before its first step
        phases.append(
            {
                "name": "command (no run)",
                "seconds": profile["finished"] - profile["imported"],
                "parts": _by_label(calls),
            }
        )
        phases.append({"name": "exit", "seconds": ended - profile["finished"]})
    checks.sort(key=lambda c: -c["seconds"])
    return {"phases": phases, "steps": step_rows, "checks": checks, "labels": labels}


def _by_label(calls: list[dict]) -> dict[str, float]:
    parts: dict[str, float] = {}
    for call in calls:
        parts[call["label"]] = parts.get(call["label"], 0.0) + call["seconds"]
    return parts
