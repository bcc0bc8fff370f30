"""`stedi materialize`, with timers around the checks, the writes and the wait for Spark.

    STEDI_BENCH_PROFILE=profile.json python -m benchmarks.profiled_materialize --landing DIR --lake DIR

Runs exactly `stedi materialize` (stedi_assets.cli.main) in this process. The checks
run inside the assets' compute functions, so a step's duration alone does not
say what the checks cost: this wraps the functions that compute them (found by
name in every loaded `stedi_assets` module) and writes every call's label, start,
end and nesting depth to $STEDI_BENCH_PROFILE. Functions that no longer exist
after a refactor are listed as `missing` rather than failing the run. The
wrappers cost microseconds per call; the benchmark maps the calls to steps with
the step events of the Dagster instance at $DAGSTER_HOME.
"""

import functools
import json
import os
import sys
import threading
import time

STARTED = time.time()

# The run's Spark resource waiting for the session started ahead (the JVM's start less what Dagster's loading hid).
SPARK_WAIT = "waiting for Spark to start"
WRITE = "write (Iceberg commit)"
PARSE = "parse + lines landed + digests"
# Function name -> label. Labels that start with "check: " are checks; every `Check` is timed under its own name.
FUNCTIONS = {
    # The first action on a landing parse (persisted): reads and parses the files, counts what landed, and
    # digests the landing and quarantine rows.
    "tally": PARSE,
    # The first Spark action on a table's new rows: computes the transform (lazy until here).
    "partition_digests": "compute + digest",
}
# (module, class, method) -> label
METHODS = {
    ("stedi_assets.lake.iceberg_tables", "Lake", "replace_partitions"): WRITE,
    ("dagster_pyspark.resources", "PySparkResource", "setup_for_execution"): SPARK_WAIT,
}
CHECK = ("stedi_assets.builds.checks", "Check", "__call__")  # labelled "check: <its name>"

_calls: list[dict] = []
_local = threading.local()


def _timed(label: str, function):
    @functools.wraps(function)
    def wrapper(*args, **kwargs):
        depth = getattr(_local, "depth", 0)
        _local.depth = depth + 1
        start = time.time()
        try:
            return function(*args, **kwargs)
        finally:
            _local.depth = depth
            _calls.append({"label": label, "start": start, "end": time.time(), "depth": depth})

    wrapper.__stedi_bench_original__ = function
    return wrapper


def instrument() -> dict:
    """Wrap the profiled functions wherever a loaded stedi_assets module refers to them."""
    import importlib

    wrapped: dict[int, object] = {}
    found: set[str] = set()
    modules = [m for name, m in list(sys.modules.items()) if name.startswith("stedi_assets") and m is not None]
    for module in modules:
        for attribute, value in list(vars(module).items()):
            name = getattr(value, "__name__", None)
            if name not in FUNCTIONS or not callable(value) or isinstance(value, type):
                continue
            if not getattr(value, "__module__", "").startswith("stedi_assets"):
                continue
            if id(value) not in wrapped:
                wrapped[id(value)] = _timed(FUNCTIONS[name], value)
            setattr(module, attribute, wrapped[id(value)])
            found.add(name)
    for (module_name, class_name, method), label in METHODS.items():
        try:
            cls = getattr(importlib.import_module(module_name), class_name)
            setattr(cls, method, _timed(label, getattr(cls, method)))
            found.add(f"{class_name}.{method}")
        except (ImportError, AttributeError):
            pass
    module_name, class_name, method = CHECK
    cls = getattr(importlib.import_module(module_name), class_name)
    original = getattr(cls, method)
    setattr(cls, method, lambda self, built: _timed(f"check: {self.name}", original)(self, built))
    found.add(f"{class_name}.{method}")
    wanted = set(FUNCTIONS) | {f"{c}.{m}" for _, c, m in [*METHODS, CHECK]}
    return {"instrumented": sorted(found), "missing": sorted(wanted - found)}


def main(argv: list[str] | None = None) -> int:
    from stedi_assets import cli
    from stedi_assets.spark_start import start_spark_session

    command = ["materialize", *(sys.argv[1:] if argv is None else argv)]
    # As `stedi materialize` does when there is work, before Dagster loads (it then finds this start).
    args = cli.parser().parse_args(command)
    start_spark_session(args.spark_master, cli.what_landed(args.landing).bytes)
    from stedi_assets import materialize  # noqa: F401  (the CLI loads `materialize` lazily: load it to wrap it)

    imported = time.time()
    coverage = instrument()
    code = 1
    try:
        code = cli.main(command)
    finally:
        finished = time.time()
        target = os.environ.get("STEDI_BENCH_PROFILE")
        if target:
            with open(target, "w") as file:
                json.dump(
                    {
                        "started": STARTED,
                        "imported": imported,
                        "finished": finished,
                        "exit_code": code,
                        **coverage,
                        "calls": _calls,
                    },
                    file,
                )
    return code


if __name__ == "__main__":
    from stedi_assets.cli import run

    run(main)  # and exit as `stedi` does
