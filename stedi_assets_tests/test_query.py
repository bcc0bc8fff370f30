"""`stedi query`: SQL over a real small Iceberg lake, checked against the rows the test wrote."""

from collections import defaultdict

import pytest

from stedi_assets import cli
from stedi_assets.lake.iceberg_tables import Lake
from stedi_assets.query import mentioned_tables, query_lake
from stedi_assets.schemas.tables import LANDING_TABLES

DAY = "2024-01-01"
CUSTOMERS = LANDING_TABLES["customer"]
STEP_TRAINER = LANDING_TABLES["step_trainer"]


def customer(line: int, email: str, serial: str):
    return (f"Name {line}", email, "555", "1990-01-01", serial, 1, 2, 3, None, None, "c.json", line, DAY)


def reading(line: int, time: int, serial: str, distance: int | None):
    return (time, serial, distance, "s.json", line, DAY)


CUSTOMER_ROWS = [
    customer(1, "ann@example.com", "S-1"),
    customer(2, "bob@example.com", "S-2"),
    customer(3, "cy@example.com", "S-3"),  # no readings: not in the join
]
READINGS = [
    reading(1, 1_700_000_000_005, "S-1", 10),
    reading(2, 1_700_000_000_001, "S-1", 20),
    reading(3, 1_700_000_000_003, "S-2", 7),
    reading(4, 1_700_000_000_002, "S-1", None),
    reading(5, 1_700_000_000_004, "S-9", 99),  # a device nobody owns
    reading(6, 1_700_000_000_000, "S-2", 5),
]


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("query_lake"))
    stored = Lake(root)
    stored.replace_partitions(spark.createDataFrame(CUSTOMER_ROWS, CUSTOMERS.spark_schema), CUSTOMERS, [DAY])
    stored.replace_partitions(spark.createDataFrame(READINGS, STEP_TRAINER.spark_schema), STEP_TRAINER, [DAY])
    return root


def run(capsys, *args: str) -> tuple[int, list[str], list[str]]:
    code = cli.main(["query", *args])
    out, err = capsys.readouterr()
    return code, out.splitlines(), err.splitlines()


def test_a_count_prints_the_number_of_rows_written(lake, capsys):
    code, out, err = run(capsys, "--lake", lake, "SELECT count(*) AS n FROM step_trainer_landing")
    assert code == 0 and err == []
    header, rule, value, *rest = out
    assert header.split() == ["n"] and set(rule.strip()) == {"-"}
    assert value.strip() == str(len(READINGS))
    assert rest == ["(1 row)"]


def test_a_join_grouped_by_customer_gives_each_customers_readings_and_distance(lake, capsys):
    sql = """
        SELECT c.email, count(*) AS readings, sum(s.distanceFromObject) AS distance
        FROM customer_landing AS c JOIN step_trainer_landing AS s ON c.serialNumber = s.serialNumber
        GROUP BY c.email ORDER BY c.email
    """
    owner = {row[4]: row[1] for row in CUSTOMER_ROWS}
    counts, distances = defaultdict(int), defaultdict(int)
    for _time, serial, distance, *_ in READINGS:
        if serial in owner:
            counts[owner[serial]] += 1
            distances[owner[serial]] += distance or 0  # SQL's sum skips nulls
    expected = [[email, str(counts[email]), str(distances[email])] for email in sorted(counts)]

    code, out, err = run(capsys, "--lake", lake, sql)

    assert code == 0 and err == []
    assert out[0].split() == ["email", "readings", "distance"]
    assert [line.split() for line in out[2:-1]] == expected
    assert out[-1] == f"({len(expected)} rows)"


def test_limit_prints_the_first_rows_and_says_how_many_there_were_in_all(lake, capsys):
    sql = "SELECT sensorReadingTime, serialNumber FROM Step_Trainer_Landing ORDER BY sensorReadingTime"
    first_two = sorted((time, serial) for time, serial, *_ in READINGS)[:2]

    code, out, err = run(capsys, "--lake", lake, "--limit", "2", sql)

    assert code == 0 and err == []
    assert [line.split() for line in out[2:4]] == [[str(time), serial] for time, serial in first_two]
    assert len(out) == 5
    assert str(len(READINGS)) in out[4] and "in all" in out[4] and "--limit" in out[4]


def test_query_lake_returns_the_column_names_and_the_typed_rows(lake):
    result = query_lake(lake, "SELECT serialNumber, distanceFromObject FROM step_trainer_landing ORDER BY 1, 2")
    assert result.columns == ["serialNumber", "distanceFromObject"]
    expected = sorted(((serial, distance) for _, serial, distance, *_ in READINGS), key=lambda r: (r[0], r[1] or 0))
    assert sorted(result.rows, key=lambda r: (r[0], r[1] or 0)) == expected
    assert result.total == len(READINGS)


@pytest.mark.parametrize(
    "sql",
    ["SELEC count(*) FROM step_trainer_landing", "SELECT * FROM no_such_table", "SELECT cast('x' AS INT)"],
    ids=["syntax", "unknown-table", "run-time"],
)
def test_bad_sql_is_one_error_line_and_exit_2(lake, capsys, sql):
    code, out, err = run(capsys, "--lake", lake, sql)
    assert code == 2 and out == []
    assert len(err) == 1 and err[0].startswith("stedi: ")


def test_a_lake_folder_without_a_catalog_is_one_error_line_and_exit_2(tmp_path, capsys):
    code, out, err = run(capsys, "--lake", str(tmp_path), "SELECT count(*) FROM step_trainer_landing")
    assert code == 2 and out == []
    assert len(err) == 1 and err[0].startswith("stedi: ") and str(tmp_path) in err[0]
    assert not (tmp_path / "catalog.db").exists()  # a query makes no catalog


def test_show_tables_lists_the_lakes_tables(lake, capsys):
    code, out, err = run(capsys, "--lake", lake, "SHOW TABLES")
    assert code == 0 and out[2:4] == ["customer_landing", "step_trainer_landing"] and out[-1] == "(2 rows)"
    code, out, err = run(capsys, "--lake", lake, "SELECT count(*) AS n FROM information_schema.tables")
    assert code == 0 and out[2].strip() == "2"


@pytest.mark.parametrize(
    "sql, says",
    [
        (
            "SELECT * FROM step_trainer_landin",
            "The lake's tables: customer_landing, step_trainer_landing",
        ),
        ("SELECT count(*) FROM machine_learning_curated", "machine_learning_curated: not built yet in the lake at"),
    ],
    ids=["typo", "not-built"],
)
def test_a_table_the_lake_lacks_is_named_with_what_the_lake_has(lake, capsys, sql, says):
    code, out, err = run(capsys, "--lake", lake, sql)
    assert code == 2 and out == [] and len(err) == 1
    assert says in err[0] and "pg_" not in err[0]


def test_a_lake_path_that_is_a_file_is_said_to_be_one(tmp_path, capsys):
    (tmp_path / "lake").write_text("not a lake")
    code, out, err = run(capsys, "--lake", str(tmp_path / "lake"), "SHOW TABLES")
    assert code == 2 and err == [
        f"stedi: {tmp_path / 'lake'} is a file, not a lake: give the lake's folder (or s3://bucket/prefix)"
    ]


def test_only_the_tables_named_as_whole_words_are_scanned():
    names = ["customer_landing", "step_trainer_landing", "customer_trusted"]
    sql = 'SELECT * FROM "CUSTOMER_LANDING" JOIN step_trainer_landing_old USING (x) -- customer_trusted2'
    assert mentioned_tables(sql, names) == ["customer_landing"]


@pytest.mark.slow
@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_text('{secret}')",
        "SELECT * FROM read_csv('{secret}')",
        "SELECT * FROM read_parquet('{lake}/**/*.parquet')",
        "COPY (SELECT * FROM step_trainer_landing) TO '{out}/copy.csv'",
        "ATTACH '{out}/other.db' AS other",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
    ],
    ids=["read_text", "read_csv", "read_parquet", "copy", "attach", "install", "load", "reenable"],
)
def test_the_sql_reaches_nothing_but_the_lakes_tables(lake, tmp_path, sql):
    """The README's promise, as a user meets it: a real `stedi` process refuses, in one line, and makes no file."""
    import subprocess
    import sys

    secret, out = tmp_path / "secret.txt", tmp_path / "out"
    secret.write_text("the pseudonym key\n")
    out.mkdir()
    statement = sql.format(secret=secret, lake=lake, out=out)
    result = subprocess.run(
        [sys.executable, "-m", "stedi_assets.cli", "query", "--lake", lake, statement], capture_output=True, text=True
    )
    assert result.returncode == 2 and "the pseudonym key" not in result.stdout
    (line,) = result.stderr.splitlines()
    assert line.startswith("stedi: ") and "Traceback" not in line
    assert list(out.iterdir()) == []
