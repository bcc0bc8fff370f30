"""Which partitions an incremental run recomputes (`builds.stale`), on hand-written table states,
and the content digest that says whether a recomputed partition changed."""

from stedi_assets.builds.stale import INPUTS, landed_up_to, overlapping, stale_partitions, stale_whole_table
from stedi_assets.lake.iceberg_tables import partition_digests


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
    stored = first.extra_state
    # A delivery without customer files: the new date's landing partition is empty.
    delivery = {**landing, "2024-01-03": {"rows": 0, "digest": "0"}}
    assert stale_whole_table(table, stored, [*dates, "2024-01-03"], delivery).keys == ["2024-01-03"]
    more_rows = {**delivery, "2024-01-02": {"rows": 3, "digest": "2b"}}
    assert stale_whole_table(table, stored, dates, more_rows).keys == dates
    emptied = {**landing, "2024-01-02": {"rows": 0, "digest": "0"}}
    assert stale_whole_table(table, stored, dates, emptied).keys == dates
