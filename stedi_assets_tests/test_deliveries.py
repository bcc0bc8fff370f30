"""Invariants 6 and 7 in the small: the rule that judges a delivery, the check that reports it, and a release
recorded in the lake."""

import re

import pytest

from stedi_assets import deliveries
from stedi_assets.deliveries import BROKEN, DELIVERY, OK, WARN, NotHeld, held_deliveries, release, verdict
from stedi_assets.lake.conflicts import ConcurrentWrite
from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.schemas.tables import LANDING_TABLES
from stedi_assets.zones.landing import delivery_verdicts

TABLE = LANDING_TABLES["step_trainer"]
DAY1, DAY2 = "2024-01-01", "2024-01-02"


# The contract's examples (invariant 6) and the issue's.
@pytest.mark.parametrize(
    "bad, lines, expected",
    [
        (2, 15, WARN),
        (14, 14, BROKEN),
        (30, 30, BROKEN),
        (60, 100, BROKEN),
        (1, 1, BROKEN),
        (3, 10_000, OK),
        (0, 0, OK),  # a 0-byte file lands no line
        (0, 5, OK),
    ],
)
def test_a_delivery_is_broken_only_when_its_lines_show_it_with_confidence(bad, lines, expected):
    assert verdict(bad, lines) == expected


def test_the_thresholds_decide(monkeypatch):
    monkeypatch.setattr(deliveries, "ERROR_RATE", 0.02)
    assert verdict(2, 15) == BROKEN
    monkeypatch.setattr(deliveries, "WARN_RATE", 0.9)
    monkeypatch.setattr(deliveries, "ERROR_RATE", 0.95)
    assert verdict(60, 100) == OK


def entry(lines: int, bad: int, verdict_: str, released=None) -> dict:
    judged = {"quarantined": bad, "verdict": verdict_, "reasons": [["invalid JSON", bad]] if bad else []}
    return {
        "rows": lines - bad,
        "lines_landed": lines,
        DELIVERY: {**judged, **({"released": released} if released else {})},
    }


def test_the_check_fails_while_any_delivery_is_held_and_warns_only_for_what_the_run_parsed():
    state = {
        "2024-01-01": entry(100, 60, BROKEN),
        "2024-01-02": entry(15, 2, WARN),
        "2024-01-03": entry(14, 14, BROKEN, released={"by": "ann", "at": "2024-01-04T00:00:00+00:00"}),
        "2024-01-04": entry(1000, 0, OK),
    }
    passed, held, severity = delivery_verdicts("accelerometer", state, ["2024-01-04"], "/lake")
    assert (passed, severity) == (False, "ERROR")
    assert list(held["held"]) == ["2024-01-01"]  # judged on every date, not only the run's
    assert "60 of 100 lines quarantined" in held["held"]["2024-01-01"]
    assert held["release_with"] == ["stedi release --lake /lake --source accelerometer --date 2024-01-01"]
    assert held["warned"] == {} and list(held["released"]) == ["2024-01-03"]

    del state["2024-01-01"]
    passed, warned, severity = delivery_verdicts("accelerometer", state, ["2024-01-02", "2024-01-04"], "/lake")
    assert (passed, severity, list(warned["warned"])) == (False, "WARN", ["2024-01-02"])
    assert delivery_verdicts("accelerometer", state, ["2024-01-04"], "/lake")[0]


def landing_lake(spark, tmp_path, held_verdict: str = BROKEN) -> Lake:
    lake = Lake(str(tmp_path))
    rows = spark.createDataFrame([(1, "s", 2, "f.json", 1, DAY1), (2, "s", 2, "g.json", 1, DAY2)], TABLE.spark_schema)
    extra = {DAY1: {"lines_landed": 3, DELIVERY: entry(3, 2, held_verdict)[DELIVERY]}, DAY2: {"lines_landed": 1}}
    lake.replace_partitions(rows, TABLE, [DAY1, DAY2], extra)
    return lake


def test_a_release_is_a_commit_of_state_alone_that_says_who_and_when(spark, tmp_path):
    lake = landing_lake(spark, tmp_path)
    assert [(d.source, d.date) for d in held_deliveries(lake.pins(LANDING_TABLES.values()))] == [("step_trainer", DAY1)]
    before = lake.pin(TABLE)

    released = release(lake, "step_trainer", DAY1, "ann")

    assert released.released["by"] == "ann" and not released.held
    assert held_deliveries(lake.pins(LANDING_TABLES.values())) == []
    iceberg = lake._python_catalog.load_table((lake.namespace, TABLE.name))
    snapshot = iceberg.current_snapshot()
    assert snapshot.parent_snapshot_id == before.snapshot_id
    assert snapshot.summary["stedi.released"].startswith(f"step_trainer {DAY1} by ann at ")
    assert snapshot.summary["added-data-files"] in (None, "0")
    assert sorted(tuple(row) for row in lake.read(spark, TABLE).collect()) == [
        (1, "s", 2, "f.json", 1, DAY1),
        (2, "s", 2, "g.json", 1, DAY2),
    ]
    state = lake.state(TABLE)
    assert {key: {k: v for k, v in e.items() if k != DELIVERY} for key, e in state.items()} == {
        key: {k: v for k, v in e.items() if k != DELIVERY} for key, e in before.state.items()
    }


@pytest.mark.parametrize(
    "date, held_verdict, message",
    [
        (DAY2, BROKEN, "is not held (its verdict: ok)"),
        ("2024-02-01", BROKEN, "has no step_trainer delivery on 2024-02-01"),
        (DAY1, WARN, "is not held (its verdict: warn)"),
    ],
)
def test_only_a_held_delivery_can_be_released_and_a_refusal_commits_nothing(
    spark, tmp_path, date, held_verdict, message
):
    lake = landing_lake(spark, tmp_path, held_verdict)
    before = lake.pin(TABLE).snapshot_id
    with pytest.raises(NotHeld, match=re.escape(message)):
        release(lake, "step_trainer", date, "ann")
    assert lake.pin(TABLE).snapshot_id == before


def test_a_release_racing_another_commit_fails_and_changes_nothing(spark, tmp_path, monkeypatch):
    lake = landing_lake(spark, tmp_path)
    real_state_at = Lake.amend_state.__globals__["state_at"]
    raced = []

    def state_then_another_commit(*args):
        state = real_state_at(*args)
        if not raced:  # once, after this release read the state: another writer commits
            raced.append(True)
            rows = lake.read(spark, TABLE).where(f"ingest_date = '{DAY2}'")
            Lake(lake.root).replace_partitions(rows, TABLE, [DAY2], {DAY2: {"inputs": "x"}})
        return state

    monkeypatch.setitem(Lake.amend_state.__globals__, "state_at", state_then_another_commit)
    with pytest.raises(ConcurrentWrite):
        release(lake, "step_trainer", DAY1, "ann")
    monkeypatch.undo()
    assert raced and [d.date for d in held_deliveries(lake.pins(LANDING_TABLES.values()))] == [DAY1]
    assert lake.state(TABLE)[DAY2]["inputs"] == "x"
