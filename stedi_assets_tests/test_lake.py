"""Replacing partitions of an Iceberg lake table: what is stored, what is remembered, what is committed."""

import json
from dataclasses import replace

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from pyspark.sql.types import StructField, StructType

from stedi_assets.builds.checks import rule_breaks
from stedi_assets.failures import explain
from stedi_assets.lake import iceberg_tables
from stedi_assets.lake.catalog import LakeCatalog
from stedi_assets.lake.conflicts import ConcurrentWrite
from stedi_assets.lake.iceberg_tables import Lake, Pinned
from stedi_assets.lake.partition_state import state_at, summary_properties
from stedi_assets.schemas.tables import ALL_TABLES, LANDING_TABLES

TABLE = LANDING_TABLES["step_trainer"]
DAY1, DAY2, DAY3 = "2024-01-01", "2024-01-02", "2024-01-03"


def frame(spark, *rows):
    return spark.createDataFrame(list(rows), TABLE.spark_schema)


def reading(time: int, date: str, line: int = 1):
    return (time, "s", 2, "f.json", line, date)


def snapshots(lake: Lake) -> list:
    return lake._python_catalog.load_table((lake.namespace, TABLE.name)).snapshots()


def test_a_read_as_of_a_snapshot_has_its_rows_whatever_was_committed_since(spark, tmp_path):
    lake = Lake(str(tmp_path))
    lake.replace_partitions(frame(spark, reading(1, DAY1)), TABLE, [DAY1])
    then = lake.pin(TABLE).snapshot_id
    lake.replace_partitions(frame(spark, reading(2, DAY1), reading(3, DAY2)), TABLE, [DAY1, DAY2])
    assert [row["sensorReadingTime"] for row in lake.read(spark, TABLE, then).collect()] == [1]
    assert sorted(row["sensorReadingTime"] for row in lake.read(spark, TABLE).collect()) == [2, 3]


def test_the_table_is_an_iceberg_v2_table_partitioned_by_ingest_date_in_the_lakes_sqlite_catalog(spark, tmp_path):
    lake = Lake(str(tmp_path))
    lake.replace_partitions(frame(spark, reading(1, DAY1)), TABLE, [DAY1])
    table = LakeCatalog(str(tmp_path)).pyiceberg().load_table(("stedi", TABLE.name))
    assert table.metadata.format_version == 2
    assert [field.name for field in table.spec().fields] == ["ingest_date"]
    assert table.location().removeprefix("file:") == str(tmp_path / "landing" / TABLE.name)
    assert (tmp_path / "catalog.db").is_file()


def test_a_partition_left_with_no_rows_is_emptied_in_one_commit(spark, tmp_path):
    lake = Lake(str(tmp_path))
    lake.replace_partitions(frame(spark, reading(1, DAY1), reading(3, DAY2)), TABLE, [DAY1, DAY2])

    written = lake.replace_partitions(frame(spark), TABLE, [DAY2, DAY3])

    assert written.rewritten == [DAY2, DAY3]  # one emptied, one new and empty
    assert {key: entry["rows"] for key, entry in lake.state(TABLE).items()} == {DAY1: 1, DAY2: 0, DAY3: 0}
    assert [tuple(row) for row in lake.read(spark, TABLE).collect()] == [reading(1, DAY1)]
    assert len(snapshots(lake)) == 2
    live_files = lake._python_catalog.load_table(("stedi", TABLE.name)).inspect.files()
    assert live_files["partition"].to_pylist() == [{"ingest_date": DAY1}]


def test_a_write_over_many_partitions_leaves_one_file_in_each(spark, tmp_path):
    """Rows of many dates spread over every task of a write: each partition still gets one data file, so a later
    read of the whole table opens a file per partition, not one per task and partition."""
    lake = Lake(str(tmp_path))
    tasks = int(spark.conf.get("spark.sql.shuffle.partitions"))
    dates = [f"2024-02-{day:02d}" for day in range(1, tasks + 3)]
    rows = [reading(time, date, line=time + 1) for time, date in enumerate(dates * 8)]
    spread = frame(spark, *rows).repartition(tasks)  # round robin: every task holds rows of every date

    lake.replace_partitions(spread, TABLE, dates)

    live_files = lake._python_catalog.load_table(("stedi", TABLE.name)).inspect.files()
    assert sorted(part["ingest_date"] for part in live_files["partition"].to_pylist()) == dates
    assert sorted(row["line_number"] for row in lake.read(spark, TABLE).collect()) == list(range(1, len(rows) + 1))


def test_stored_rows_are_what_the_data_files_hold_at_a_snapshot_whatever_the_state_says(spark, tmp_path):
    lake = Lake(str(tmp_path))
    assert lake.stored_rows(TABLE, None, [DAY1]) == {DAY1: 0}  # no table yet
    first = lake.replace_partitions(frame(spark, reading(1, DAY1), reading(2, DAY1, 2)), TABLE, [DAY1]).snapshot_id
    # A state that says otherwise (as a writer's wrong count would) changes nothing the count sees.
    lake.amend_state(TABLE, lambda state: {DAY1: {**state[DAY1], "rows": 7}}, {})
    rows = [reading(3, DAY2), reading(4, DAY2, 2), reading(5, DAY2, 3), reading(6, DAY3)]
    last = lake.replace_partitions(frame(spark, *rows), TABLE, [DAY2, DAY3]).snapshot_id

    assert lake.stored_rows(TABLE, last, [DAY1, DAY2, DAY3]) == {DAY1: 2, DAY2: 3, DAY3: 1}
    assert lake.stored_rows(TABLE, last, [DAY2]) == {DAY2: 3}
    assert lake.stored_rows(TABLE, first, [DAY1, DAY2]) == {DAY1: 2, DAY2: 0}


def test_a_write_given_counts_its_files_do_not_hold_keeps_the_files_counts_until_a_write_mends_it(spark, tmp_path):
    """`counted`: the caller's own counts (the landing step's, from its parse). A row lost on the way to the
    files must show in the state, which the checks read, and the next write of the right rows must rewrite the
    partition even though their digest is the one the state already has."""
    lake = Lake(str(tmp_path))
    rows = frame(spark, reading(1, DAY1), reading(2, DAY1, 2), reading(3, DAY1, 3), reading(4, DAY2))
    counted = iceberg_tables.partition_digests(rows, {})
    lost = rows.where("sensorReadingTime != 2")

    written = lake.replace_partitions(lost, TABLE, [DAY1, DAY2], counted=counted)
    assert {key: entry["rows"] for key, entry in lake.state(TABLE).items()} == {DAY1: 2, DAY2: 1}
    assert lake.state(TABLE)[DAY1] == {**counted[0][DAY1], "measures": {}, "rows": 2}  # the rest kept
    assert written.state == lake.state(TABLE)
    assert written.snapshot_id == lake.pin(TABLE).snapshot_id
    assert len(snapshots(lake)) == 2  # the write, then the files' count

    mended = lake.replace_partitions(rows, TABLE, [DAY1, DAY2], counted=counted)
    assert mended.rewritten == [DAY1]
    assert {key: entry["rows"] for key, entry in lake.state(TABLE).items()} == {DAY1: 3, DAY2: 1}
    assert len(snapshots(lake)) == 3  # counts that hold add no commit


def test_writing_the_same_rows_again_commits_nothing_and_new_inputs_alone_commit_only_state(spark, tmp_path):
    lake = Lake(str(tmp_path))
    rows = frame(spark, reading(1, DAY1), reading(2, DAY1, 2))
    first = lake.replace_partitions(rows, TABLE, [DAY1], {DAY1: {"inputs": "a"}})
    again = lake.replace_partitions(rows, TABLE, [DAY1], {DAY1: {"inputs": "a"}})
    assert again.rewritten == [] and again.snapshot_id == first.snapshot_id
    assert len(snapshots(lake)) == 1

    same_rows_other_inputs = lake.replace_partitions(rows, TABLE, [DAY1], {DAY1: {"inputs": "b"}})
    assert same_rows_other_inputs.rewritten == []
    assert lake.state(TABLE)[DAY1]["inputs"] == "b"
    latest = snapshots(lake)[-1]
    assert latest.summary["added-data-files"] in (None, "0") and latest.summary["deleted-data-files"] in (None, "0")


def test_what_a_table_was_built_from_is_committed_alone_when_its_rows_did_not_change(spark, tmp_path):
    """An input's new snapshot that changes none of the table's rows: the table still says it is built from it,
    in a commit of its own that adds and deletes no file; said again, nothing is committed."""
    lake = Lake(str(tmp_path))
    rows = frame(spark, reading(1, DAY1))
    first = lake.replace_partitions(rows, TABLE, [DAY1], built_from={"inputs": {"x": "1"}})
    assert lake.pin(TABLE).built_from == {"inputs": {"x": "1"}}

    newer = lake.replace_partitions(rows, TABLE, [DAY1], built_from={"inputs": {"x": "2"}})
    assert newer.rewritten == [] and newer.snapshot_id != first.snapshot_id
    assert lake.pin(TABLE).built_from == {"inputs": {"x": "2"}}
    latest = snapshots(lake)[-1]
    assert latest.summary["added-data-files"] in (None, "0") and latest.summary["deleted-data-files"] in (None, "0")

    again = lake.replace_partitions(rows, TABLE, [DAY1], built_from={"inputs": {"x": "2"}})
    assert again.snapshot_id == newer.snapshot_id and len(snapshots(lake)) == 2
    unsaid = lake.replace_partitions(rows, TABLE, [DAY1])  # a writer with nothing to say keeps what was said
    assert unsaid.snapshot_id == newer.snapshot_id and lake.pin(TABLE).built_from == {"inputs": {"x": "2"}}


def test_a_local_table_is_read_from_its_metadata_as_pyiceberg_reads_it(spark, tmp_path):
    """`Lake.pin` reads a local lake's catalog and metadata files itself (pyiceberg's imports take most of an
    up-to-date run): the same snapshots and summaries pyiceberg finds, through a race and a release."""
    lake = Lake(str(tmp_path))
    assert lake.pin(TABLE) == Pinned(None, {})  # no catalog yet
    lake.replace_partitions(frame(spark, reading(1, DAY1)), TABLE, [DAY1], {DAY1: {"by": "first"}})
    lake.replace_partitions(frame(spark, reading(2, DAY2)), TABLE, [DAY2], built_from={"inputs": {"x": "1"}})
    lake.amend_state(TABLE, lambda state: {DAY1: {**state[DAY1], "note": "amended"}}, {"stedi.by": "test"})

    local = LakeCatalog(str(tmp_path)).local_snapshots(TABLE.name)
    table = LakeCatalog(str(tmp_path)).pyiceberg().load_table(("stedi", TABLE.name))
    by_pyiceberg = {s.snapshot_id: (s.parent_snapshot_id, s.summary.additional_properties) for s in table.snapshots()}
    assert local[0] == table.current_snapshot().snapshot_id and len(local[1]) == 3
    for snapshot_id, (parent, summary) in local[1].items():
        assert parent == by_pyiceberg[snapshot_id][0]
        assert {k: v for k, v in summary.items() if k.startswith("stedi.")} == {
            k: v for k, v in by_pyiceberg[snapshot_id][1].items() if k.startswith("stedi.")
        }
    pinned = lake.pin(TABLE)
    assert pinned.state[DAY1]["note"] == "amended" and pinned.built_from == {"inputs": {"x": "1"}}
    assert Lake(str(tmp_path)).pin(LANDING_TABLES["customer"]) == Pinned(None, {})  # a table not made yet


def test_the_state_is_committed_with_the_data_in_the_snapshot_summary(spark, tmp_path):
    lake = Lake(str(tmp_path))
    written = lake.replace_partitions(frame(spark, reading(1, DAY1)), TABLE, [DAY1], {DAY1: {"sources": "x"}})
    (snapshot,) = snapshots(lake)
    assert snapshot.snapshot_id == written.snapshot_id
    stored = json.loads(snapshot.summary.additional_properties["stedi.state"])[DAY1]
    assert (stored["sources"], stored["rows"]) == ("x", 1)  # read from the snapshot, not from the writer
    assert Lake(str(tmp_path)).state(TABLE)[DAY1] == written.state[DAY1]


def test_a_commit_that_raced_another_on_other_partitions_keeps_both_partitions_state(spark, tmp_path, monkeypatch):
    """Iceberg re-applies a commit on top of a concurrent one that changed other partitions: the state
    read afterwards must hold both writers' partitions, not only the later writer's view."""
    lake = Lake(str(tmp_path))
    lake.replace_partitions(frame(spark, reading(1, DAY1)), TABLE, [DAY1], {DAY1: {"by": "first"}})
    stale = lake.pin(TABLE)
    lake.replace_partitions(frame(spark, reading(2, DAY2)), TABLE, [DAY2], {DAY2: {"by": "second"}})

    monkeypatch.setattr(Lake, "pin", lambda self, table: stale)  # a writer that read the state before
    lake.replace_partitions(frame(spark, reading(3, DAY3)), TABLE, [DAY3], {DAY3: {"by": "third"}})
    monkeypatch.undo()

    latest = snapshots(lake)[-1]
    assert latest.summary["stedi.base"] != str(latest.parent_snapshot_id)  # it was re-applied: the race happened
    assert {key: entry["by"] for key, entry in lake.state(TABLE).items()} == {
        DAY1: "first",
        DAY2: "second",
        DAY3: "third",
    }


def test_a_write_computed_before_another_writer_changed_its_partition_fails_and_changes_nothing(spark, tmp_path):
    """The step pinned the table, then another writer replaced the partition: committing rows computed from
    older inputs could undo the newer ones, so Iceberg's validation fails the write (the step is retried)."""
    lake = Lake(str(tmp_path))
    lake.replace_partitions(frame(spark, reading(1, DAY1)), TABLE, [DAY1])
    pinned = lake.pin(TABLE)
    lake.replace_partitions(frame(spark, reading(2, DAY1)), TABLE, [DAY1], {DAY1: {"by": "other"}})
    before = snapshots(lake)

    with pytest.raises(ConcurrentWrite, match=f"another writer changed \\['{DAY1}'\\] first") as raised:
        lake.replace_partitions(frame(spark, reading(3, DAY1)), TABLE, [DAY1], {DAY1: {"by": "me"}}, pinned=pinned)

    assert "ValidationException" in str(raised.value.__cause__)  # Iceberg's own check failed the commit
    assert snapshots(lake) == before
    assert [tuple(row) for row in lake.read(spark, TABLE).collect()] == [reading(2, DAY1)]
    assert lake.state(TABLE)[DAY1]["by"] == "other"
    # Computed again from the table as it is now, the write lands.
    written = lake.replace_partitions(
        frame(spark, reading(3, DAY1)), TABLE, [DAY1], {DAY1: {"by": "me"}}, pinned=lake.pin(TABLE)
    )
    assert written.rewritten == [DAY1] and lake.state(TABLE)[DAY1]["by"] == "me"


def test_partitions_known_to_hold_no_rows_commit_their_state_alone_without_spark(spark, spark_jobs, tmp_path):
    """No rows given (their inputs have none): a new empty partition's state is committed by pyiceberg, with no
    Spark job and no data file change; a partition that held rows has its files dropped; a partition another
    writer changed since the pin fails the write."""
    lake = Lake(str(tmp_path))
    lake.replace_partitions(frame(spark, reading(1, DAY1), reading(2, DAY2)), TABLE, [DAY1, DAY2])
    files = lake._python_catalog.load_table(("stedi", TABLE.name)).inspect.files()["file_path"].to_pylist()
    jobs = spark_jobs()

    written = lake.replace_partitions(None, TABLE, [DAY3], {DAY3: {"inputs": "none"}}, built_from={"x": "1"})

    assert spark_jobs() == jobs
    assert written.rewritten == [DAY3] and written.snapshot_id == lake.pin(TABLE).snapshot_id
    assert lake.state(TABLE)[DAY3] == {"rows": 0, "digest": "0", "measures": {}, "inputs": "none"}
    assert lake.pin(TABLE).built_from == {"x": "1"}
    stored = lake._python_catalog.load_table(("stedi", TABLE.name))
    assert stored.inspect.files()["file_path"].to_pylist() == files
    assert len(snapshots(lake)) == 2
    # The same again commits nothing.
    assert (
        lake.replace_partitions(None, TABLE, [DAY3], {DAY3: {"inputs": "none"}}, built_from={"x": "1"}).rewritten == []
    )
    assert len(snapshots(lake)) == 2

    lake.replace_partitions(None, TABLE, [DAY2])  # it held a row: its file goes
    assert [tuple(row) for row in lake.read(spark, TABLE).collect()] == [reading(1, DAY1)]
    assert lake.state(TABLE)[DAY2]["rows"] == 0

    pinned = lake.pin(TABLE)
    lake.replace_partitions(None, TABLE, [DAY3], {DAY3: {"inputs": "other"}})
    with pytest.raises(ConcurrentWrite, match="another writer changed"):
        lake.replace_partitions(None, TABLE, [DAY3], {DAY3: {"inputs": "mine"}}, pinned=pinned)
    assert lake.state(TABLE)[DAY3]["inputs"] == "other"


def test_a_state_only_commit_beaten_on_another_partition_reads_the_state_again_and_lands(spark, tmp_path, monkeypatch):
    """Between the state-only commit's read of the table and its commit, another writer commits another
    partition: as Iceberg re-applies a Spark write, the commit is tried again on the new state, and both land."""
    lake = Lake(str(tmp_path))
    lake.replace_partitions(frame(spark, reading(1, DAY1)), TABLE, [DAY1])
    read, reads, racing = iceberg_tables._pinned_table, [], []

    def read_then_lose_a_race(iceberg):
        pinned = read(iceberg)
        if not racing:  # the write's own reads, not the other writer's
            reads.append(pinned.snapshot_id)
            if len(reads) == 1:  # right after the write's first read, another writer commits
                racing.append(True)
                Lake(lake.root).amend_state(TABLE, lambda state: {DAY1: {**state[DAY1], "by": "other"}}, {})
                racing.clear()
        return pinned

    monkeypatch.setattr(iceberg_tables, "_pinned_table", read_then_lose_a_race)
    written = lake.replace_partitions(None, TABLE, [DAY2], {DAY2: {"by": "me"}})

    assert len(reads) == 2 and reads[0] != reads[1]  # the first attempt lost; the second read the other's commit
    assert written.rewritten == [DAY2]
    state = lake.state(TABLE)
    assert state[DAY1]["by"] == "other" and state[DAY2]["by"] == "me" and state[DAY2]["rows"] == 0


def test_a_partition_with_files_but_no_state_is_emptied_by_spark_not_by_a_state_commit(spark, tmp_path):
    """A partition whose state entry is gone (it was only in an expired snapshot) but whose files remain: known
    to hold no rows now, its files are dropped, not left behind under a state that says it has none."""
    lake = Lake(str(tmp_path))
    lake.replace_partitions(frame(spark, reading(1, DAY1), reading(2, DAY2)), TABLE, [DAY1, DAY2])
    iceberg = lake.iceberg(TABLE)  # a commit whose state lost DAY1's entry:
    current = iceberg.current_snapshot().snapshot_id
    lost = summary_properties({DAY2: lake.state(TABLE)[DAY2]}, current, [DAY2])
    iceberg.append(pa.Table.from_pylist([], iceberg.schema().as_arrow()), snapshot_properties=lost)
    assert DAY1 not in lake.state(TABLE)

    lake.replace_partitions(None, TABLE, [DAY1])

    assert [tuple(row) for row in lake.read(spark, TABLE).collect()] == [reading(2, DAY2)]
    assert lake.state(TABLE)[DAY1]["rows"] == 0


def test_a_write_pinned_before_the_table_existed_fails_if_another_writer_created_its_partition(spark, tmp_path):
    lake = Lake(str(tmp_path))
    pinned = lake.pin(TABLE)
    lake.replace_partitions(frame(spark, reading(1, DAY1)), TABLE, [DAY1], {DAY1: {"by": "other"}})

    with pytest.raises(ConcurrentWrite, match="created the table"):
        lake.replace_partitions(frame(spark, reading(2, DAY1)), TABLE, [DAY1], pinned=pinned)
    assert lake.state(TABLE)[DAY1]["by"] == "other"


def test_state_at_follows_rebased_commits_and_passes_through_maintenance_snapshots():
    def commit(state, base, written):
        return summary_properties(state, base, written)

    snapshots_by_id = {
        1: (None, commit({"a": {"n": 1}}, None, ["a"])),
        2: (1, commit({"a": {"n": 1}, "b": {"n": 2}}, 1, ["b"])),
        3: (2, commit({"a": {"n": 1}, "c": {"n": 3}}, 1, ["c"])),  # computed from 1, re-applied on 2
        4: (3, {"operation-by": "rewrite_data_files"}),  # no state of its own
    }
    assert state_at(4, snapshots_by_id) == {"a": {"n": 1}, "b": {"n": 2}, "c": {"n": 3}}
    assert state_at(2, snapshots_by_id) == {"a": {"n": 1}, "b": {"n": 2}}
    # The parent of a re-applied commit expired: only what it wrote itself is known.
    assert state_at(3, {3: snapshots_by_id[3]}) == {"c": {"n": 3}}
    assert state_at(None, snapshots_by_id) == {}


def test_personal_columns_have_no_bounds_in_the_manifests(spark, tmp_path):
    """Manifests outlive rows until maintenance: they must not hold min/max emails or names."""
    table = LANDING_TABLES["customer"]
    lake = Lake(str(tmp_path))
    row = {c.name: None for c in table.columns} | {
        "email": "Ann@X.com",
        "customerName": "Ann",
        "source_file": "c.json",
        "line_number": 1,
        "ingest_date": DAY1,
    }
    lake.replace_partitions(spark.createDataFrame([row], table.spark_schema), table, [DAY1])
    files = lake._python_catalog.load_table(("stedi", table.name)).inspect.files().to_pylist()
    schema = lake._python_catalog.load_table(("stedi", table.name)).schema()
    personal = {schema.find_field(name).field_id for name in ("email", "customerName")}
    assert files and all(not personal & set(dict(f["lower_bounds"] or [])) for f in files)
    assert pq.ParquetFile(files[0]["file_path"].removeprefix("file:")).read().column("email").to_pylist() == [
        "Ann@X.com"
    ]


def test_an_existing_table_gets_the_contracts_column_docs_and_required_columns_without_a_new_snapshot(spark, tmp_path):
    """As lakes were: no docs, every column optional. A column whose partitions hold a null stays optional."""
    lake = Lake(str(tmp_path))
    lake.attach(spark)
    columns = ", ".join(f"`{field.name}` {field.dataType.simpleString()}" for field in TABLE.spark_schema)
    spark.sql("CREATE NAMESPACE lake.stedi")
    spark.sql(f"CREATE TABLE {lake.identifier(TABLE)} ({columns}) USING iceberg PARTITIONED BY (ingest_date)")
    no_serial = (2, None, 2, "f.json", 1, DAY2)
    loose = StructType([StructField(field.name, field.dataType, True) for field in TABLE.spark_schema])
    rows = spark.createDataFrame([reading(1, DAY1), no_serial], loose)
    lake.replace_partitions(rows, TABLE, [DAY1, DAY2], measures=rule_breaks(TABLE))  # as `publish` writes
    table = lake._python_catalog.load_table(("stedi", TABLE.name))
    assert [field.doc for field in table.schema().fields] == [None] * len(TABLE.spark_schema)
    assert not [field for field in table.schema().fields if field.required]
    before = table.current_snapshot().snapshot_id

    lake.document(TABLE)

    table = LakeCatalog(str(tmp_path)).pyiceberg().load_table(("stedi", TABLE.name))
    docs = {field.name: field.doc for field in table.schema().fields}
    assert docs["sensorReadingTime"] == "When the step trainer took the reading, epoch milliseconds UTC."
    assert docs["line_number"] == "1-based line number in that file."
    assert docs["ingest_date"].startswith("Ingest date (YYYY-MM-DD) of the landing file")
    assert all(docs.values())
    required = {field.name for field in table.schema().fields if field.required}
    assert required == {"sensorReadingTime", "source_file", "line_number", "ingest_date"}  # not serialNumber
    assert table.current_snapshot().snapshot_id == before
    assert sorted(tuple(row) for row in lake.read(spark, TABLE).collect()) == [reading(1, DAY1), no_serial]


def test_a_new_table_has_the_contracts_descriptions_from_its_creation(spark, tmp_path):
    """Given at CREATE TABLE, quotes and backslashes kept: `document` then has nothing to commit."""
    quoted = replace(
        TABLE,
        description="The trainer's log, a \\ kept",
        columns=(replace(TABLE.columns[0], description="Time it's 'read' \\d"), *TABLE.columns[1:]),
    )
    lake = Lake(str(tmp_path))
    lake.replace_partitions(frame(spark, reading(1, DAY1)), quoted, [DAY1])
    table = lake._python_catalog.load_table(("stedi", TABLE.name))
    assert {field.name: field.doc for field in table.schema().fields} == quoted.column_docs
    assert table.schema().fields[0].doc == "Time it's 'read' \\d"
    assert table.properties["comment"] == "The trainer's log, a \\ kept"
    metadata_files = len(table.metadata.metadata_log)
    lake.document(quoted)
    assert len(lake._python_catalog.load_table(("stedi", TABLE.name)).metadata.metadata_log) == metadata_files


def test_a_lake_file_gone_from_under_a_read_is_one_line_naming_it_and_the_lake(spark, tmp_path):
    """Not only landing files vanish: a table's data file deleted by hand fails the read in one line that names
    the file and does not blame the landing files alone."""
    lake = Lake(str(tmp_path))
    lake.replace_partitions(frame(spark, reading(1, DAY1)), TABLE, [DAY1])
    (data_file,) = (tmp_path / "landing" / TABLE.name / "data").rglob("*.parquet")
    data_file.unlink()
    with pytest.raises(Exception) as failed:
        spark.table(lake.identifier(TABLE)).collect()
    line = explain(str(failed.value))
    assert str(data_file) in line
    assert line.endswith(
        "a file vanished while the run read it: landing files, and the lake's own files, must not be moved or deleted"
    )


def test_every_table_and_column_description_fits_the_glue_catalog():
    """On AWS the table's creation gives them to Glue, which keeps a column comment of up to 255 characters and a
    table description of up to 2,048: a longer one would fail the first run there."""
    assert all(len(doc) <= 255 for table in ALL_TABLES for doc in table.column_docs.values())
    assert all(len(table.description) <= 2048 for table in ALL_TABLES)


def test_a_new_table_requires_what_the_contract_requires_and_refuses_a_null_there_in_one_clear_line(spark, tmp_path):
    lake = Lake(str(tmp_path))
    lake.replace_partitions(frame(spark, reading(1, DAY1)), TABLE, [DAY1])
    schema = lake._python_catalog.load_table(("stedi", TABLE.name)).schema()
    contract = {field.name for field in TABLE.spark_schema if not field.nullable}
    assert {field.name for field in schema.fields if field.required} == contract
    assert "serialNumber" in contract and "distanceFromObject" not in contract
    before = snapshots(lake)

    loose = StructType([StructField(field.name, field.dataType, True) for field in TABLE.spark_schema])
    with pytest.raises(Exception) as refused:
        lake.replace_partitions(spark.createDataFrame([(2, None, 2, "f.json", 1, DAY2)], loose), TABLE, [DAY2])
    assert explain(str(refused.value)).endswith(
        "a row has no value in a column the contract requires: a bug, report it"
    )
    assert snapshots(lake) == before
