"""The checks can fail: each is shown a table that breaks its rule."""

from stedi_assets.checks.counts import quarantine_rate_check
from stedi_assets.checks.schema import schema_check
from stedi_assets.schemas.tables import LANDING_TABLES, MACHINE_LEARNING_CURATED


def test_schema_check_passes_good_rows_and_names_each_broken_rule(spark):
    table = LANDING_TABLES["step_trainer"]
    good = spark.createDataFrame([(1, "s", 2, "f.json", 1, "2024-01-01")], table.spark_schema)
    assert schema_check(good, ["2024-01-01"], table).passed

    loose = table.spark_schema
    for field in loose.fields:
        field.nullable = True
    bad = spark.createDataFrame([(1, None, 2, "f.json", 0, "24-1-1")], loose)
    result = schema_check(bad, ["24-1-1"], table)
    assert not result.passed
    failures = result.metadata["failures"]
    for broken in (
        "serialNumber: not_nullable",
        "line_number: greater_than_or_equal_to(1)",
        "ingest_date: str_matches",
    ):
        assert any(failure.startswith(broken) for failure in failures), broken


def test_schema_check_refuses_personal_or_extra_columns(spark):
    schema = MACHINE_LEARNING_CURATED.spark_schema.add("email", "string")
    row = (1, "s", 2, 1, 0.0, 0.0, 0.0, "a" * 64, "b" * 64, "2024-01-01", "a@x.com")
    result = schema_check(spark.createDataFrame([row], schema), ["2024-01-01"], MACHINE_LEARNING_CURATED)
    failures = result.metadata["failures"]
    assert not result.passed and any("column 'email' not in DataFrameSchema" in failure for failure in failures)
    not_hex = (1, "s", 2, 1, 0.0, 0.0, 0.0, "z" * 64, "b" * 64, "2024-01-01")
    frame = spark.createDataFrame([not_hex], MACHINE_LEARNING_CURATED.spark_schema)
    assert not schema_check(frame, ["2024-01-01"], MACHINE_LEARNING_CURATED).passed


def test_quarantine_rate_warns_then_errors():
    ok = quarantine_rate_check(1, 1000, 0.01, 0.10)
    warn = quarantine_rate_check(50, 1000, 0.01, 0.10)
    error = quarantine_rate_check(200, 1000, 0.01, 0.10)
    assert ok.passed
    assert not warn.passed and warn.severity == "WARN"
    assert not error.passed and error.severity == "ERROR"
