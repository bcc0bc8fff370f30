"""Which partitions an incremental run recomputes (`builds.stale`), on hand-written table states,
and the content digest that says whether a recomputed partition changed."""

from stedi_assets.builds.stale import (
    INPUTS,
    kept_span,
    landed_up_to,
    overlapping,
    per_date_digests,
    stale_partitions,
    stale_whole_table,
    unchanged_since_built,
)
from stedi_assets.lake.iceberg_tables import Lake, Pinned, partition_digests
from stedi_assets.schemas.tables import LANDING_TABLES


def span(first, last, rows=1):
    return {"rows": rows, "measures": {"first_reading": first, "last_reading": last}}


def test_a_partition_pairs_only_with_partitions_whose_readings_overlap_it_in_time():
    readings = {
        "2024-01-01": span(0, 9),
        "2024-01-02": span(20, 30),
        "2024-01-03": {"rows": 5, "measures": {}},  # written before spans were kept: overlaps anything
        "2024-01-04": {"rows": 0, "measures": {}},
    }
    assert overlapping(span(10, 20), readings) == ["2024-01-02", "2024-01-03"]
    assert overlapping(span(5, 5), readings) == ["2024-01-01", "2024-01-03"]
    assert overlapping({"rows": 0, "measures": {}}, readings) == []


def test_the_span_of_some_partitions_is_known_only_when_each_with_rows_keeps_its_own():
    landing = {
        "2024-01-01": span(5, 9),
        "2024-01-02": span(20, 30),
        "2024-01-03": {"rows": 0, "measures": {}},  # no rows: no span to keep
        "2024-01-04": {"rows": 5, "measures": {}},  # written before spans were kept
    }
    assert kept_span(landing, ["2024-01-01", "2024-01-02", "2024-01-03"]) == (5, 30)
    assert kept_span(landing, ["2024-01-02"]) == (20, 30)
    assert kept_span(landing, ["2024-01-02", "2024-01-04"]) is None
    assert kept_span(landing, ["2024-01-03", "2024-01-05"]) is None  # no rows at all: nothing to span


def test_a_landing_change_reaches_its_date_and_every_later_one():
    before = {"2024-01-01": {"digest": "1"}, "2024-01-02": {"digest": "2"}, "2024-01-03": {"digest": "3"}}
    after = {**before, "2024-01-02": {"digest": "2b"}}
    keys = sorted(before)
    old, new = landed_up_to(before, keys), landed_up_to(after, keys)
    assert [key for key in keys if old[key] != new[key]] == ["2024-01-02", "2024-01-03"]


def test_only_partitions_whose_inputs_or_code_version_changed_are_stale():
    keys = ["2024-01-01", "2024-01-02"]
    table = "1"  # the table's code version
    first = stale_partitions(table, {}, keys, {key: ("landed", key) for key in keys})
    assert first.keys == keys  # nothing stored yet: everything is computed
    stored = {key: {"rows": 1, INPUTS: first.inputs[key]} for key in keys}
    assert stale_partitions(table, stored, keys, {key: ("landed", key) for key in keys}).keys == []
    changed = {"2024-01-01": ("landed", "2024-01-01"), "2024-01-02": ("consent changed", "2024-01-02")}
    assert stale_partitions(table, stored, keys, changed).keys == ["2024-01-02"]
    assert stale_partitions("2", stored, keys, {key: ("landed", key) for key in keys}).keys == keys


def test_the_content_digest_tells_apart_rows_whose_nulls_are_in_different_columns(spark):
    """A partition is recomputed but not rewritten when its digest is unchanged: the digest must differ."""
    schema = "x double, y double, ingest_date string"
    one = spark.createDataFrame([(1.0, None, "2024-01-01")], schema)
    other = spark.createDataFrame([(None, 1.0, "2024-01-01")], schema)
    assert partition_digests(one, {})[0] != partition_digests(other, {})[0]


def test_a_whole_table_is_recomputed_when_an_input_s_rows_change_not_for_a_new_date_without_rows():
    table, dates = "1", ["2024-01-01", "2024-01-02"]  # the table's code version, its dates
    landing = {"2024-01-01": {"rows": 3, "digest": "1"}, "2024-01-02": {"rows": 2, "digest": "2"}}
    first = stale_whole_table(table, {}, dates, landing)
    assert first.keys == dates  # never computed
    stored = first.extra_state()
    # A delivery without customer files: the new date's landing partition is empty.
    delivery = {**landing, "2024-01-03": {"rows": 0, "digest": "0"}}
    assert stale_whole_table(table, stored, [*dates, "2024-01-03"], delivery).keys == ["2024-01-03"]
    more_rows = {**delivery, "2024-01-02": {"rows": 3, "digest": "2b"}}
    assert stale_whole_table(table, stored, dates, more_rows).keys == dates
    emptied = {**landing, "2024-01-02": {"rows": 0, "digest": "0"}}
    assert stale_whole_table(table, stored, dates, emptied).keys == dates


def test_per_date_digests_are_computed_only_for_dates_whose_own_partition_changed_unless_told_otherwise(spark):
    """Each date's readers and their consent: a delivery on a new date scans that date alone; when the customers
    (or the code) changed, every date is scanned again."""
    dates = ["2024-01-01", "2024-01-02", "2024-01-03"]
    readings = spark.createDataFrame(
        [("ann", dates[0]), ("bob", dates[1]), ("ann", dates[1]), ("cid", dates[2])], "user string, ingest_date string"
    )
    own_state = {date: {"rows": 1, "digest": f"landed-{date}"} for date in dates}
    scanned = []

    def rows(own):
        scanned.append(sorted(row.ingest_date for row in own.select("ingest_date").distinct().collect()))
        return own

    first, entries = per_date_digests("consent", rows, readings, own_state, dates, Pinned(None, {}), False)
    assert scanned == [dates] and set(first) == set(dates) and len(set(first.values())) == 3
    # What a build keeps: each date's entry. A kept digest is told apart from a computed one by its value.
    stored = {date: {**entries[date], "consent": {"digest": f"kept-{date}", "of": f"landed-{date}"}} for date in dates}
    pinned = Pinned(1, stored)

    scanned.clear()  # landing changed at the last date only
    delivery = {**own_state, "2024-01-03": {"rows": 2, "digest": "landed-again"}}
    digests, entries = per_date_digests("consent", rows, readings, delivery, dates, pinned, True)
    assert scanned == [["2024-01-03"]]
    assert digests == {
        "2024-01-01": "kept-2024-01-01",
        "2024-01-02": "kept-2024-01-02",
        "2024-01-03": first["2024-01-03"],
    }
    assert entries["2024-01-03"] == {"consent": {"digest": first["2024-01-03"], "of": "landed-again"}}

    scanned.clear()  # nothing changed: no Spark job at all
    assert per_date_digests("consent", rows, readings, own_state, dates, pinned, True)[0] == {
        date: f"kept-{date}" for date in dates
    }
    assert scanned == []

    scanned.clear()  # the customers changed
    assert per_date_digests("consent", rows, readings, own_state, dates, pinned, False)[0] == first
    assert scanned == [dates]

    scanned.clear()  # a new date of another source's files only: this one's partition there holds no rows
    new_date = "2024-01-04"
    without_rows = {**own_state, new_date: {"rows": 0, "digest": "0"}}
    digests, entries = per_date_digests("consent", rows, readings, without_rows, [*dates, new_date], pinned, True)
    assert scanned == [] and digests[new_date] is None
    assert entries[new_date] == {"consent": {"digest": None, "of": "0"}}


def test_an_input_is_unchanged_since_a_build_while_its_rows_are_whatever_its_snapshots(spark, tmp_path):
    """A new snapshot that adds a date without rows (a delivery without customer files) leaves the customers
    unchanged; new rows, another code version or a snapshot the lake no longer keeps do not."""
    lake, customers = Lake(str(tmp_path)), LANDING_TABLES["customer"]
    row = ("Ann", "ann@x.com", "1", "2020-01-01", "S-1", 1, 1, 1, None, None, "f.json", 1)

    def write(dates: list[str], *rows) -> dict:
        frame = spark.createDataFrame(list(rows), customers.spark_schema)
        snapshot = lake.replace_partitions(frame, customers, dates).snapshot_id
        return {"input_snapshots": {customers.name: str(snapshot)}, "code_version": "1"}

    built = write(["2024-01-01"], (*row, "2024-01-01"))
    pinned = Pinned(1, {}, built)
    empty_date = write(["2024-01-02"])
    assert empty_date != built and unchanged_since_built(lake, customers, pinned, empty_date)
    assert not unchanged_since_built(lake, customers, pinned, {**empty_date, "code_version": "2"})
    assert not unchanged_since_built(lake, customers, pinned, None)  # what a landing table is built from
    assert not unchanged_since_built(lake, customers, Pinned(1, {}, {}), empty_date)  # a build that failed
    gone = {**built, "input_snapshots": {customers.name: "12345"}}
    assert not unchanged_since_built(lake, customers, Pinned(1, {}, gone), empty_date)
    new_rows = write(["2024-01-02"], (*row[:1], "bob@x.com", *row[2:], "2024-01-02"))
    assert not unchanged_since_built(lake, customers, pinned, new_rows)
