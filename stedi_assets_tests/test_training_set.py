"""training_set's split and its checks: a customer's split is the reference's, never moves as customers are
added, and the checks fail on tables forged to break them."""

import hashlib
import math
import random

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from stedi_assets.builds.build import Build, BuildInputs, publish, run_build
from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.options import StediOptions
from stedi_assets.schemas.tables import PARTITION_COLUMN, TRAINING_SET
from stedi_assets.transforms.curated import split_of
from stedi_assets.zones.curated.training_set import (
    FEATURES,
    TABLE,
    TrainingSetBuilt,
    one_split_per_customer,
    split_balance,
    split_summary,
)
from stedi_assets_tests.reference import split_of as reference_split_of

KEY = "test-key"
SHARES = (0.70, 0.15, 0.15)
customer_ids = st.lists(st.integers(0, 10**6).map(lambda n: hashlib.sha256(str(n).encode()).hexdigest()), unique=True)


def spark_splits(spark, ids: list[str], shares=SHARES) -> dict[str, str]:
    frame = spark.createDataFrame([(i,) for i in ids], "customer_id string")
    rows = frame.select("customer_id", split_of(frame["customer_id"], KEY, shares).alias("split")).collect()
    return {row["customer_id"]: row["split"] for row in rows}


@settings(max_examples=25, deadline=None)
@given(known=customer_ids, added=customer_ids)
def test_adding_customers_never_moves_a_customer_between_splits(spark, known, added):
    before = spark_splits(spark, known)
    after = spark_splits(spark, [*known, *(i for i in added if i not in before)])
    assert {i: after[i] for i in known} == before
    assert before == {i: reference_split_of(i, KEY, SHARES) for i in known}  # an independent HMAC in Python


def test_each_split_gets_about_its_share_of_many_customers(spark):
    ids = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(3000)]
    counts = {split: 0 for split in ("train", "validation", "test")}
    for split in spark_splits(spark, ids, (0.5, 0.25, 0.25)).values():
        counts[split] += 1
    # 3000 coin tosses: each share within 4 standard deviations (about 0.036 for 0.5, 0.032 for 0.25).
    assert abs(counts["train"] / 3000 - 0.5) < 0.04 and abs(counts["test"] / 3000 - 0.25) < 0.035


def published_rows(spark, tmp_path, rows):
    """A training_set holding `rows` (every column, one ingest date), as a build publishes it."""
    date = rows[0][-1]
    frame = spark.createDataFrame(rows, TRAINING_SET.spark_schema)
    return publish(BuildInputs(spark, Lake(str(tmp_path)), None, StediOptions(), [date], [date]), TRAINING_SET, frame)


def built_from_rows(spark, tmp_path, rows) -> TrainingSetBuilt:
    """A training_set holding `rows` (customer_id, split), as its build leaves it for the checks."""
    date = "2024-01-01"
    published = published_rows(
        spark,
        tmp_path,
        [(n, "s", 1, n, 0.0, 0.0, 0.0, customer, customer, split, date) for n, (customer, split) in enumerate(rows)],
    )
    summary, customers = split_summary(published.stored)
    return TrainingSetBuilt(published, [date], StediOptions(), by_split=summary, customers=customers)


def test_the_split_summary_is_each_splits_rows_customers_and_features_as_pandas_gives_them(spark, tmp_path):
    """Against pandas over the same rows, with nulls among the features (left out of a mean, a min and a max)
    and a customer in two splits."""
    rng = random.Random(3)
    members = [("a" * 64, "train")] * 5 + [("a" * 64, "test")] * 2 + [("b" * 64, "train")] * 3
    members += [("c" * 64, "validation")] * 4 + [("d" * 64, "validation")]
    rows = [
        (n, "s", rng.choice([None, rng.randint(0, 500)]), n, *(rng.choice([None, rng.uniform(-5, 5)]) for _ in "xyz"))
        + (customer, customer, split, "2024-01-01")
        for n, (customer, split) in enumerate(members)
    ]
    summary, customers = split_summary(published_rows(spark, tmp_path, rows).stored)

    frame = pd.DataFrame(rows, columns=TRAINING_SET.column_names + [PARTITION_COLUMN])
    expected = {}
    for split, part in frame.groupby("split"):
        values = {"rows": len(part), "customers": part["customer_id"].nunique()}
        for feature in FEATURES:
            column = part[feature].astype(float)
            for name, value in (("mean", column.mean()), ("min", column.min()), ("max", column.max())):
                values[f"{feature}_{name}"] = None if math.isnan(value) else pytest.approx(value)
        expected[split] = values
    assert summary == expected
    assert customers == frame["customer_id"].nunique() == 4


def test_a_customer_in_two_splits_fails_the_leakage_check(spark, tmp_path):
    a, b = "a" * 64, "b" * 64
    leaking = built_from_rows(spark, tmp_path / "leak", [(a, "train"), (a, "test"), (b, "train")])
    result = one_split_per_customer(leaking)
    assert not result.passed and result.severity == "ERROR"
    assert result.metadata == {"customers": 2, "split_memberships": 3}
    assert one_split_per_customer(built_from_rows(spark, tmp_path / "fine", [(a, "train"), (b, "test")])).passed


def test_split_balance_warns_only_when_many_customers_stray_from_the_target(spark, tmp_path):
    ids = [hashlib.sha256(str(n).encode()).hexdigest() for n in range(200)]
    all_train = built_from_rows(spark, tmp_path / "many", [(i, "train") for i in ids])
    result = split_balance(all_train)
    assert not result.passed and result.severity == "WARN"
    assert set(result.metadata["strayed"]) == {"train", "validation", "test"}
    few = built_from_rows(spark, tmp_path / "few", [(ids[0], "test"), (ids[1], "train")])
    assert split_balance(few).passed  # two customers: any split of them is within three deviations


def test_a_version_is_kept_only_when_the_checks_pass(spark, tmp_path):
    """A leaking table is written (the check tells the failure on it) but kept as no version to train on."""
    a, b = "a" * 64, "b" * 64
    for name, rows, tags in (("leak", [(a, "train"), (a, "test")], []), ("fine", [(a, "train"), (b, "test")], ["v1"])):
        built = built_from_rows(spark, tmp_path / name, rows)
        options = StediOptions(pseudonym_key=KEY)
        inputs = BuildInputs(spark, Lake(str(tmp_path / name)), None, options, ["2024-01-01"], ["2024-01-01"])
        (outcome,) = run_build(Build("training_set", (TABLE,), lambda _, built=built: [built]), inputs)
        assert list(Lake(str(tmp_path / name)).iceberg(TRAINING_SET).metadata.refs) == ["main", *tags], name
        assert outcome.metadata.get("version") == (tags[0] if tags else None), name
