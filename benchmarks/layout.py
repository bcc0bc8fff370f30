"""What the benchmark and both baselines share: the landing layout and the tables' names.

Deliberately independent of `stedi_assets`, so that the baselines are plain scripts.
"""

import json
import sys
from pathlib import Path

# The pseudonym key of every benchmark run, the platform's and the baselines': not a secret, as the data is not.
BENCHMARK_PSEUDONYM_KEY = "benchmark-key"
SOURCES = ("customer", "accelerometer", "step_trainer")
TABLES = (
    "customer_landing",
    "accelerometer_landing",
    "step_trainer_landing",
    "customer_trusted",
    "accelerometer_trusted",
    "step_trainer_trusted",
    "customer_curated",
    "machine_learning_curated",
    "training_set",
)
# training_set's default split, 70/15/15: a customer whose hash, read as a fraction of 1, is below the first bound
# trains, below the second validates, else tests.
TRAIN_BELOW, VALIDATION_BELOW = 0.70, 0.85
# The data contract's default counts on the public starter data.
STARTER_COUNTS = {
    "customer_landing": 956,
    "accelerometer_landing": 81273,
    "step_trainer_landing": 28680,
    "customer_trusted": 482,
    "accelerometer_trusted": 40981,
    "step_trainer_trusted": 14460,
    "customer_curated": 482,
    "machine_learning_curated": 40981,
    "training_set": 40981,  # every machine_learning_curated row
}


def landing_files(root: str | Path, source: str) -> list[str]:
    """`<root>/<source>/landing/[ingest_date=YYYY-MM-DD/]<name>.json[.gz]`, without `_`/`.` files."""
    folder = Path(root).resolve() / source / "landing"
    candidates = [*folder.glob("*"), *folder.glob("ingest_date=*/*")]
    return sorted(
        str(path)
        for path in candidates
        if path.is_file() and path.name.endswith((".json", ".json.gz")) and not path.name.startswith(("_", "."))
    )


def count_lines(files: list[str]) -> int:
    """Non-blank lines (gzip files are counted unpacked)."""
    import gzip

    total = 0
    for name in files:
        opener = gzip.open if name.endswith(".gz") else open
        with opener(name, "rb") as file:
            total += sum(1 for line in file if line.strip())
    return total


def report_counts(report: dict, expect_starter: bool) -> int:
    """Print a baseline's JSON report; exit status 1 when asked for the starter counts and they differ."""
    print(json.dumps(report))
    if expect_starter and report.get("counts") != STARTER_COUNTS:
        print(f"counts differ from the contract's starter counts {STARTER_COUNTS}", file=sys.stderr)
        return 1
    return 0
