"""The checks can fail: each is shown a table that breaks its rule."""

from stedi_assets.builds.build import PREVIEW_ROWS, Build, BuildInputs, Table, built_from, preview, publish, run_build
from stedi_assets.builds.checks import check, readings_distinct, schema_failures, schema_valid
from stedi_assets.builds.outcome import Built
from stedi_assets.builds.stale import reading_span
from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.options import StediOptions
from stedi_assets.schemas.tables import (
    ACCELEROMETER_TRUSTED,
    LANDING_TABLES,
    MACHINE_LEARNING_CURATED,
    STEP_TRAINER_TRUSTED,
)
from stedi_assets.zones.curated.machine_learning_curated import CROSS_PAIRS, cross_customer_pairs, pairs_counted


def run_over(lake: Lake, spark, dates: list[str]) -> BuildInputs:
    """A run over `dates` of the lake, as a build is given it."""
    return BuildInputs(spark, lake, None, StediOptions(), dates, dates)


def built(published) -> Built:
    """What a build leaves for the checks: here the table just published."""
    return Built(published, published.rewritten, StediOptions())


def test_schema_check_passes_good_rows_and_names_each_broken_rule(spark):
    table = LANDING_TABLES["step_trainer"]
    good = spark.createDataFrame([(1, "s", 2, "f.json", 1, "2024-01-01")], table.spark_schema)
    assert schema_failures(good, ["2024-01-01"], table) == []

    loose = table.spark_schema
    for field in loose.fields:
        field.nullable = True
    bad = spark.createDataFrame([(1, None, 2, "f.json", 0, "24-1-1")], loose)
    failures = schema_failures(bad, ["24-1-1"], table)
    assert failures
    for broken in (
        "serialNumber: not_nullable",
        "line_number: greater_than_or_equal_to(1)",
        "ingest_date: str_matches",
    ):
        assert any(failure.startswith(broken) for failure in failures), broken


def test_rule_breaks_counted_while_writing_fail_the_schema_check(spark, tmp_path):
    """In a step the value rules are counted in the write's pass, per rewritten partition."""
    table = LANDING_TABLES["step_trainer"]
    rows = [(1, "s", 2, "f.json", 1, "2024-01-01"), (1, "s", 2, "f.json", 0, "2024-01-02")]
    lake = Lake(str(tmp_path))
    dates = ["2024-01-01", "2024-01-02"]
    first = publish(run_over(lake, spark, dates), table, spark.createDataFrame(rows, table.spark_schema))
    assert schema_valid(built(first)).metadata["failures"] == [
        "line_number: greater_than_or_equal_to(1): 1 rows break it"
    ]
    fixed = spark.createDataFrame([(1, "s", 2, "f.json", 3, "2024-01-02")], table.spark_schema)
    rewrite_one = publish(run_over(lake, spark, ["2024-01-02"]), table, fixed)
    assert rewrite_one.rewritten == ["2024-01-02"] and schema_valid(built(rewrite_one)).passed


def test_a_reading_written_again_in_another_partition_fails_readings_distinct(spark, tmp_path):
    """What an incremental run that recomputed too little would leave: a reading kept in two dates."""
    lake = Lake(str(tmp_path))
    reading = ("bob@x.com", 30, 1.0, None, 0.0)
    first = publish(
        run_over(lake, spark, ["2024-01-01"]),
        ACCELEROMETER_TRUSTED,
        spark.createDataFrame([(*reading, "2024-01-01")], ACCELEROMETER_TRUSTED.spark_schema),
        measures=reading_span("timestamp"),
    )
    assert readings_distinct("timestamp")(built(first)).passed
    rows = [(*reading, "2024-01-02"), ("bob@x.com", 30, None, 1.0, 0.0, "2024-01-02")]  # nulls elsewhere: distinct
    again = publish(
        run_over(lake, spark, ["2024-01-02"]),
        ACCELEROMETER_TRUSTED,
        spark.createDataFrame(rows, ACCELEROMETER_TRUSTED.spark_schema),
        measures=reading_span("timestamp"),
    )
    result = readings_distinct("timestamp")(built(again))
    assert not result.passed and result.metadata["readings_stored_twice"] == 1


def test_schema_check_refuses_personal_or_extra_columns(spark):
    schema = MACHINE_LEARNING_CURATED.spark_schema.add("email", "string")
    row = (1, "s", 2, 1, 0.0, 0.0, 0.0, "a" * 64, "b" * 64, "2024-01-01", "a@x.com")
    failures = schema_failures(spark.createDataFrame([row], schema), ["2024-01-01"], MACHINE_LEARNING_CURATED)
    assert any("column 'email' not in DataFrameSchema" in failure for failure in failures)
    not_hex = (1, "s", 2, 1, 0.0, 0.0, 0.0, "z" * 64, "b" * 64, "2024-01-01")
    frame = spark.createDataFrame([not_hex], MACHINE_LEARNING_CURATED.spark_schema)
    assert schema_failures(frame, ["2024-01-01"], MACHINE_LEARNING_CURATED)


def test_a_table_whose_error_check_fails_is_left_out_of_date_and_one_that_passes_is_up_to_date(spark, tmp_path):
    """The lake says a table is up to date (`built_from`) only after its ERROR checks passed: else a rerun would
    answer "up to date" and hide the failure."""
    lake, date = Lake(str(tmp_path)), "2024-01-01"
    rows = [(1, "s", 2, date)]

    def build_with(check_passes: bool) -> Build:
        verdict = check(name="always", description="passes or fails as the test says")(lambda built: (check_passes, {}))
        table = Table(STEP_TRAINER_TRUSTED, (verdict,), "1", upstream=(LANDING_TABLES["step_trainer"],))

        def compute(inputs):
            frame = spark.createDataFrame(rows, STEP_TRAINER_TRUSTED.spark_schema)
            return [Built(publish(inputs, STEP_TRAINER_TRUSTED, frame), [date], inputs.options)]

        return Build(STEP_TRAINER_TRUSTED.name, (table,), compute)

    inputs = run_over(lake, spark, [date])
    (failed,) = run_build(build_with(False), inputs)
    assert not failed.checks[0].passed
    assert lake.pin(STEP_TRAINER_TRUSTED).built_from == {"failed_checks": ["always"]}

    (passed,) = run_build(build_with(True), inputs)
    assert passed.checks[0].passed
    table = build_with(True).tables[0]
    expected = built_from(table, {LANDING_TABLES["step_trainer"].name: None}, inputs.options)
    assert lake.pin(STEP_TRAINER_TRUSTED).built_from == expected and expected["code_version"] == "1"


def test_the_preview_shows_rows_just_written_with_personal_fields_masked(spark, tmp_path):
    """The materialization's preview: rows of the partitions this write rewrote (none of a partition left
    alone), at most PREVIEW_ROWS of them, personal fields as `***`."""
    table = LANDING_TABLES["customer"]
    lake = Lake(str(tmp_path))

    def customers(date: str, count: int):
        rows = [
            (
                f"Name {i}",
                f"c{i}@x.com",
                "555",
                "1990-01-01",
                f"s-{date}-{i}",
                1,
                2,
                None,
                None,
                None,
                "f.json",
                i,
                date,
            )
            for i in range(1, count + 1)
        ]
        return spark.createDataFrame(rows, table.spark_schema)

    publish(run_over(lake, spark, ["2024-01-01"]), table, customers("2024-01-01", 2))
    second = publish(run_over(lake, spark, ["2024-01-02"]), table, customers("2024-01-02", PREVIEW_ROWS + 3))
    lines = preview(second).splitlines()
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    shown = [dict(zip(header, (cell.strip() for cell in line.strip("|").split("|")))) for line in lines[2:]]
    assert len(shown) == PREVIEW_ROWS
    assert {row["ingest_date"] for row in shown} == {"2024-01-02"}
    assert all(row["serialNumber"].startswith("s-2024-01-02-") for row in shown)
    for row in shown:
        assert row["email"] == row["customerName"] == row["phone"] == row["birthDay"] == "***"


def test_cross_customer_pairs_are_counted_as_written_and_read_only_where_a_partition_has_no_count(spark, tmp_path):
    """The whole table's pairs of two customers, from each partition's count kept as the write digested it; a
    partition written without the count (by an older version) is read instead."""
    lake, ann, bob = Lake(str(tmp_path)), "a" * 64, "b" * 64

    def pairs(date: str, *accelerometer_customers: str):
        rows = [(i, "s", 1, i, 0.0, 0.0, 0.0, ann, other, date) for i, other in enumerate(accelerometer_customers, 1)]
        return spark.createDataFrame(rows, MACHINE_LEARNING_CURATED.spark_schema)

    def write(date: str, *accelerometer_customers: str, counted: bool = True):
        measures = pairs_counted() if counted else None
        rows = pairs(date, *accelerometer_customers)
        return cross_customer_pairs(
            built(publish(run_over(lake, spark, [date]), MACHINE_LEARNING_CURATED, rows, measures=measures))
        )

    write("2024-01-01", ann, bob, counted=False)  # as an older version wrote it
    both = write("2024-01-02", bob, bob, ann)
    assert not both.passed and both.severity == "ERROR"  # ml_join=customer
    assert both.metadata[CROSS_PAIRS] == 1 + 2 and both.metadata["partitions_read"] == 1
    counted = write("2024-01-01", ann, ann)  # rewritten: now every partition has its count
    assert counted.metadata[CROSS_PAIRS] == 2 and counted.metadata["partitions_read"] == 0
