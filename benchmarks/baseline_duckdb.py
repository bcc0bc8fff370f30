"""Baseline: the nine contract tables in DuckDB SQL, the single-machine floor.

    python -m benchmarks.baseline_duckdb --landing DIR --out DIR

The contract's default mode as a handful of SQL statements: read each source
with `read_json` and explicit columns (the accelerometer as JSON objects, so the
old `timeStamp` spelling is found too), keep the valid lines (parsed, key fields
present), compute the trusted and curated tables, and write all nine as Parquet
partitioned by ingest date. No quarantine and no checks. DuckDB uses every core
it is given (the benchmark gives it 2).

Simplifications, harmless on the benchmark's data (which has none of these):
a value of the wrong type becomes null instead of sending the line to
quarantine, and a fractional number where an integer is expected is rounded;
ties of lastUpdateDate within one file are broken arbitrarily (the platform uses
the line number); a file with neither an `ingest_date=` folder nor an epoch in
its name gets no ingest date (the platform uses its modification time).
"""

import argparse
import shutil
import sys
import time
from pathlib import Path

import duckdb

from benchmarks.layout import (
    BENCHMARK_PSEUDONYM_KEY,
    TABLES,
    TRAIN_BELOW,
    VALIDATION_BELOW,
    landing_files,
    report_counts,
)

CUSTOMER_COLUMNS = {
    "customerName": "VARCHAR",
    "email": "VARCHAR",
    "phone": "VARCHAR",
    "birthDay": "VARCHAR",
    "serialNumber": "VARCHAR",
    "registrationDate": "BIGINT",
    "lastUpdateDate": "BIGINT",
    "shareWithResearchAsOfDate": "BIGINT",
    "shareWithPublicAsOfDate": "BIGINT",
    "shareWithFriendsAsOfDate": "BIGINT",
}
STEP_TRAINER_COLUMNS = {"sensorReadingTime": "BIGINT", "serialNumber": "VARCHAR", "distanceFromObject": "BIGINT"}

INGEST_DATE = r"""coalesce(
    nullif(regexp_extract(filename, 'ingest_date=(\d{4}-\d{2}-\d{2})/[^/]*$', 1), ''),
    strftime(epoch_ms(nullif(regexp_extract(filename, '(\d{13})\.json(\.gz)?$', 1), '')::BIGINT),
             '%Y-%m-%d'))"""
SOURCE_FILE = "regexp_extract(filename, '[^/]*$')"


def key(column: str) -> str:
    """Customer key: email trimmed of whitespace, lower-cased."""
    return rf"lower(regexp_replace({column}, '^\s+|\s+$', '', 'g'))"


def sql_list(files: list[str]) -> str:
    return "[" + ", ".join("'" + f.replace("'", "''") + "'" for f in files) + "]"


def read_typed(files: list[str], columns: dict[str, str]) -> str:
    struct = "{" + ", ".join(f"'{name}': '{kind}'" for name, kind in columns.items()) + "}"
    return (
        f"read_json({sql_list(files)}, format = 'newline_delimited', columns = {struct}, "
        "ignore_errors = true, filename = true, maximum_object_size = 16777216)"
    )


def statements(landing: str, out: str, pseudonym_key: str) -> list[tuple[str, str]]:
    """(table, SELECT) in dependency order; each table is created, then written."""
    customers = landing_files(landing, "customer")
    accelerometer = landing_files(landing, "accelerometer")
    steps = landing_files(landing, "step_trainer")
    customer_fields = ", ".join(CUSTOMER_COLUMNS)
    step_fields = ", ".join(STEP_TRAINER_COLUMNS)
    pseudonym = f"sha256('{pseudonym_key}:' || owner_key)"
    return [
        (
            "customer_landing",
            f"""
            SELECT {customer_fields}, {SOURCE_FILE} AS source_file, {INGEST_DATE} AS ingest_date
            FROM {read_typed(customers, CUSTOMER_COLUMNS)} WHERE email IS NOT NULL""",
        ),
        (
            "accelerometer_landing",
            f"""
            SELECT "user", "timestamp", x, y, z, {SOURCE_FILE} AS source_file, {INGEST_DATE} AS ingest_date
            FROM (
                SELECT f[1] AS "user", TRY_CAST(coalesce(f[2], f[3]) AS BIGINT) AS "timestamp",
                       TRY_CAST(f[4] AS DOUBLE) AS x, TRY_CAST(f[5] AS DOUBLE) AS y, TRY_CAST(f[6] AS DOUBLE) AS z,
                       filename
                FROM (
                    SELECT json_extract_string(json, ['$.user', '$.timestamp', '$.timeStamp', '$.x', '$.y', '$.z'])
                           AS f, filename
                    FROM read_ndjson_objects({sql_list(accelerometer)}, ignore_errors = true, filename = true)
                )
            ) WHERE "user" IS NOT NULL AND "timestamp" IS NOT NULL""",
        ),
        (
            "step_trainer_landing",
            f"""
            SELECT {step_fields}, {SOURCE_FILE} AS source_file, {INGEST_DATE} AS ingest_date
            FROM {read_typed(steps, STEP_TRAINER_COLUMNS)}
            WHERE serialNumber IS NOT NULL AND sensorReadingTime IS NOT NULL""",
        ),
        (
            "customer_trusted",
            f"""
            SELECT {customer_fields}, ingest_date FROM customer_landing
            QUALIFY row_number() OVER (
                PARTITION BY {key("email")}
                ORDER BY lastUpdateDate DESC NULLS LAST, ingest_date DESC, source_file DESC) = 1
                AND shareWithResearchAsOfDate IS NOT NULL""",
        ),
        (
            "accelerometer_trusted",
            f"""
            SELECT "user", "timestamp", x, y, z, min(ingest_date) AS ingest_date
            FROM accelerometer_landing
            WHERE {key('"user"')} IN (SELECT {key("email")} FROM customer_trusted)
            GROUP BY ALL""",
        ),
        (
            "customer_curated",
            f"""
            SELECT * FROM customer_trusted
            WHERE {key("email")} IN (SELECT DISTINCT {key('"user"')} FROM accelerometer_trusted)""",
        ),
        (
            "step_trainer_trusted",
            f"""
            SELECT {step_fields}, min(ingest_date) AS ingest_date
            FROM step_trainer_landing
            WHERE serialNumber IN (SELECT serialNumber FROM customer_curated)
            GROUP BY ALL""",
        ),
        (
            "machine_learning_curated",
            f"""
            SELECT s.sensorReadingTime, s.serialNumber, s.distanceFromObject, a."timestamp", a.x, a.y, a.z,
                   {pseudonym} AS customer_id, {pseudonym} AS accelerometer_customer_id, s.ingest_date
            FROM step_trainer_trusted s
            JOIN (SELECT serialNumber, {key("email")} AS owner_key FROM customer_curated) o USING (serialNumber)
            JOIN accelerometer_trusted a
              ON {key('a."user"')} = o.owner_key AND a."timestamp" = s.sensorReadingTime""",
        ),
        (
            "training_set",
            f"""
            SELECT * EXCLUDE (fraction),
                   CASE WHEN fraction < {TRAIN_BELOW} THEN 'train'
                        WHEN fraction < {VALIDATION_BELOW} THEN 'validation' ELSE 'test' END AS split
            FROM (
                SELECT *, ('0x' || substr(sha256('{pseudonym_key}:split:' || customer_id), 1, 13))::BIGINT
                          / 16 ^ 13 AS fraction
                FROM machine_learning_curated
            )""",
        ),
    ]


def build(con: duckdb.DuckDBPyConnection, landing: str, out: str, pseudonym_key: str) -> None:
    for table, select in statements(landing, out, pseudonym_key):
        con.execute(f"CREATE TABLE {table} AS {select}")
        target = Path(out) / table
        if target.exists():
            shutil.rmtree(target)
        con.execute(f"COPY {table} TO '{target}' (FORMAT parquet, PARTITION_BY (ingest_date))")


def main(argv: list[str] | None = None) -> int:
    cli = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    cli.add_argument("--landing", required=True, help="landing root: <root>/<source>/landing/...")
    cli.add_argument("--out", required=True, help="folder the nine Parquet tables are written under")
    cli.add_argument("--pseudonym-key", default=BENCHMARK_PSEUDONYM_KEY)
    cli.add_argument("--threads", type=int, help="DuckDB threads (default: every core it may use)")
    cli.add_argument("--no-counts", action="store_true", help="skip counting the tables at the end")
    cli.add_argument("--expect-starter", action="store_true", help="exit 1 unless the contract's starter counts")
    args = cli.parse_args(argv)

    started = time.perf_counter()
    con = duckdb.connect()  # in memory; spills to a temporary folder if it must
    if args.threads:
        con.execute(f"SET threads = {args.threads}")
    Path(args.out).mkdir(parents=True, exist_ok=True)
    build(con, args.landing, args.out, args.pseudonym_key)
    report = {"engine": "duckdb", "build_seconds": round(time.perf_counter() - started, 3)}
    if not args.no_counts:
        report["counts"] = {table: con.execute(f"SELECT count(*) FROM {table}").fetchone()[0] for table in TABLES}
    return report_counts(report, args.expect_starter)


if __name__ == "__main__":
    sys.exit(main())
