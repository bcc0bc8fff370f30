"""training_set: every machine_learning_curated row with the split it is for (train, validation or test),
chosen per pseudonymous customer_id by a keyed hash (`transforms.curated.split_of`): a customer's readings
are never on both sides of an evaluation, and a customer never changes split as data grows. The shares of
customers are an option (`--split`, default 70/15/15).

A partition is recomputed when its machine_learning_curated partition, the key or the shares changed. Each
version of the table's rows is kept as an Iceberg tag (`v1`, `v2`, ...: `lake.versions`), which the
materialization names."""

import math
from dataclasses import dataclass, field

from pyspark.sql import functions as F

from stedi_assets.builds.build import Build, BuildInputs, Table, publish, same_names, shaping_options
from stedi_assets.builds.checks import check, no_personal_columns, not_empty, schema_valid
from stedi_assets.builds.outcome import Built, Markdown
from stedi_assets.builds.stale import rows_in, stale_partitions
from stedi_assets.lake.versions import tag_current_version
from stedi_assets.options import split_text
from stedi_assets.schemas.tables import MACHINE_LEARNING_CURATED, PARTITION_COLUMN, SPLITS, TRAINING_SET
from stedi_assets.transforms import consent, curated

FEATURES = ("distanceFromObject", "x", "y", "z")


@dataclass(frozen=True)
class TrainingSetBuilt(Built):
    """The table as its build left it, with each split's rows, customers and feature summary (`by_split`) and
    the customers of the whole table, from one aggregation (`split_summary`)."""

    by_split: dict[str, dict] = field(default_factory=dict)
    customers: int = 0


@check(
    "one_split_per_customer",
    "No customer_id is in two splits: a customer's readings on both sides of an evaluation make its score lie. "
    "A failure means the split changed for some customers (another key or other shares since their rows were "
    "written): drop the table and materialize it again.",
)
def one_split_per_customer(built: TrainingSetBuilt):
    memberships = sum(values["customers"] for values in built.by_split.values())
    # Each customer counts once per split it is in: more memberships than customers means one is in two.
    return memberships == built.customers, {"customers": built.customers, "split_memberships": memberships}


@check(
    "split_balance",
    "Each split's share of customers is within three standard deviations of its target (a hash splits "
    "customers like coin tosses, so a few customers may stray far and many may not). A WARN: with a new key or "
    "shares, or very few customers, look at the counts per split.",
    "WARN",
)
def split_balance(built: TrainingSetBuilt):
    shares = dict(zip(SPLITS, built.options.split_shares))
    customers = built.customers
    actual = {
        split: (built.by_split.get(split, {}).get("customers", 0) / customers if customers else 0) for split in SPLITS
    }
    strayed = {
        split: round(actual[split], 4)
        for split, target in shares.items()
        if customers and abs(actual[split] - target) > 3 * math.sqrt(target * (1 - target) / customers)
    }
    return not strayed, {
        "target": split_text(built.options.split_shares),
        "shares": {split: round(share, 4) for split, share in actual.items()},
        "strayed": strayed,
    }


def keep_version(inputs: BuildInputs) -> dict:
    """The table's rows kept as a tag once its checks pass (a leaking table is no version to train on)."""
    version = tag_current_version(inputs.lake, TRAINING_SET)
    return {} if version is None else {"version": version.name, "version_snapshot_id": str(version.snapshot_id)}


TABLE = Table(
    TRAINING_SET,
    (schema_valid, not_empty, no_personal_columns, one_split_per_customer, split_balance),
    code_version="1",
    upstream_same_date=(MACHINE_LEARNING_CURATED,),
    shaped_by=("pseudonym_key", "split_shares"),
    belongs=consent.by_pseudonyms,
    after_passing=keep_version,
    column_sources={
        **same_names(MACHINE_LEARNING_CURATED, MACHINE_LEARNING_CURATED),
        "split": [(MACHINE_LEARNING_CURATED, "customer_id")],
    },
)


def split_summary(stored) -> tuple[dict[str, dict], int]:
    """Per split: rows, customers and each feature's mean, min and max; and the table's customers.

    One Spark job groups the rows by split and customer (a row per customer, or more for one in two splits),
    and the splits are summed up here. A rollup by split with a distinct count of customers, in Spark, gave
    the same in twice the time (0.5 s against 0.28 s, warm, on the starter data): it expands every row per
    grouping set and shuffles twice. A mean, as Spark's, is over a feature's non-null values."""
    features = [
        aggregate(F.col(feature)).alias(f"{feature}_{name}")
        for feature in FEATURES
        for name, aggregate in (("sum", F.sum), ("count", F.count), ("min", F.min), ("max", F.max))
    ]
    groups = stored.groupBy("split", "customer_id").agg(F.count(F.lit(1)).alias("rows"), *features).collect()
    summary = {}
    for split in {group["split"] for group in groups}:
        mine = [group for group in groups if group["split"] == split]
        values = {"rows": sum(g["rows"] for g in mine), "customers": sum(g["customer_id"] is not None for g in mine)}
        for feature in FEATURES:
            count = sum(g[f"{feature}_count"] for g in mine)
            values[f"{feature}_mean"] = sum(g[f"{feature}_sum"] or 0 for g in mine) / count if count else None
            for name, pick in (("min", min), ("max", max)):
                present = [g[f"{feature}_{name}"] for g in mine if g[f"{feature}_{name}"] is not None]
                values[f"{feature}_{name}"] = pick(present, default=None)
        summary[split] = values
    customers = len({group["customer_id"] for group in groups if group["customer_id"] is not None})
    return summary, customers


def summary_table(summary: dict[str, dict]) -> Markdown:
    """Rows, customers and each feature's mean per split, as the UI shows it."""
    columns = ["rows", "customers", *(f"{feature}_mean" for feature in FEATURES)]
    lines = ["| split | " + " | ".join(columns) + " |", "|---|" + "---|" * len(columns)]
    for split in SPLITS:
        values = summary.get(split, {})
        cells = [f"{values[c]:.4g}" if isinstance(values.get(c), float) else str(values.get(c, 0)) for c in columns]
        lines.append(f"| {split} | " + " | ".join(cells) + " |")
    return Markdown("\n".join(lines))


def compute(inputs: BuildInputs) -> list[Built]:
    spark, lake, options = inputs.spark, inputs.lake, inputs.options
    registered = inputs.registered_partition_keys
    pinned = lake.pin(TRAINING_SET)
    ml_state = lake.state(MACHINE_LEARNING_CURATED)
    stale = stale_partitions(
        TABLE.code_version,
        pinned.state,
        registered,
        {key: (ml_state.get(key, {}).get("digest"), shaping_options(TABLE, options)) for key in registered},
    )
    rows = None  # a row is in the partition of its machine_learning_curated row
    if rows_in(ml_state, stale.keys):
        ml_rows = lake.read(spark, MACHINE_LEARNING_CURATED).where(F.col(PARTITION_COLUMN).isin(stale.keys))
        rows = curated.training_set(ml_rows, options.pseudonym_key, tuple(options.split_shares))
    published = publish(inputs, TRAINING_SET, rows, stale.keys, stale.extra_state(), pinned=pinned)
    summary, customers = split_summary(published.stored)
    metadata = {"split_target": split_text(options.split_shares), "per_split": summary_table(summary)}
    return [TrainingSetBuilt(published, stale.keys, options, metadata, by_split=summary, customers=customers)]


BUILD = Build(TRAINING_SET.name, (TABLE,), compute)
