"""Bad input never crashes a run or loses a line; bad configuration is one clear line and writes nothing."""

import contextlib
import gzip
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from pyspark.sql import functions as F

from stedi_assets.builds.build import written_measures
from stedi_assets.builds.stale import reading_span
from stedi_assets.cli import main
from stedi_assets.lake import jars
from stedi_assets.lake.iceberg_tables import Lake, partition_digests
from stedi_assets.landing_files import list_landing_files
from stedi_assets.sample import write_sample_landing
from stedi_assets.schemas.tables import LANDING_TABLES, QUARANTINE_TABLES, READING_TIME, SOURCE_FIELDS
from stedi_assets.transforms.landing import landing_records, parse_landing, quarantine_records
from stedi_assets.transforms.landing_parser import Limits
from stedi_assets.zones.landing import tally
from stedi_assets_tests.lake_contents import TABLE_FIELDS, lake_table, table_rows, table_states
from stedi_assets_tests.reference import read_source, reference_tables
from stedi_assets_tests.test_spark_start import LOOPBACK, listening_addresses

GOOD = '{"user": "a@x.com", "timestamp": 1700000000000, "x": 1.0, "y": 0.0, "z": 0.0}'
BAD_ACCELEROMETER_FILES = {
    "bad-json.json": f'{GOOD}\n{{"user": "a@x.com", "timestamp": }}\n',
    "not-object.json": f'[1, 2]\n"text"\nnull\n{GOOD}\n',
    "truncated.json": f'{GOOD}\n{{"user": "a@x.com", "timest',
    "missing-key.json": '{"user": "a@x.com"}\n{"user": null, "timestamp": 1}\n{"timestamp": 1}\n',
    "untypeable.json": '{"user": "a@x.com", "timestamp": "soon"}\n{"user": "a@x.com", "timestamp": 1.5}\n'
    '{"user": true, "timestamp": 1}\n{"user": "a@x.com", "timestamp": 1, "x": "high"}\n',
    "number-as-text.json": '{"user": 12345, "timestamp": 1}\n',
    "other-case.json": '{"USER": "a@x.com", "timeStamp": 1700000000001.0, "X": 2}\n',
    "unknown-fields.json": '{"user": "a@x.com", "timestamp": 2, "battery": 0.5, "extra": {"nested": [1]}}\n',
    "repeated-field.json": '{"user": "a@x.com", "timestamp": 3, "timeStamp": 4}\n',
    "lone-surrogate.json": '{"user": "\\ud800", "timestamp": 6}\n',
    "blank-lines.json": f"\n\n   \n{GOOD}\n\t\n",
    "empty.json": "",
    "whole-array.json": f"[{GOOD}, {GOOD}]\n",
    "pretty-array.json": json.dumps([json.loads(GOOD), {"user": "a@x.com"}, 7, json.loads(GOOD)], indent=2),
    "truncated-array.json": json.dumps([json.loads(GOOD)] * 3, indent=2)[:-40],
    "array-then-line.json": f"[{GOOD}]\n{GOOD}\n",
    "bom.json": f"\ufeff{GOOD}\n{GOOD}\n",
    "bom-array.json": f"\ufeff[{GOOD}, {GOOD}]",
}


@pytest.fixture(scope="module")
def messy_landing(tmp_path_factory):
    landing = tmp_path_factory.mktemp("messy") / "landing"
    write_sample_landing(landing, customers=60, seed=11)
    folder = landing / "accelerometer" / "landing" / "ingest_date=2024-01-02"
    for name, text in BAD_ACCELEROMETER_FILES.items():
        (folder / name).write_text(text)
    (folder / "invalid-utf8.json").write_bytes(GOOD.encode() + b"\n" + b'{"user": "\xff\xfe", "timestamp": 1}\n')
    (folder / "utf16.json").write_bytes(f"{GOOD}\n{GOOD}\n".encode("utf-16"))  # with its byte-order mark
    (folder / "utf16be.json").write_bytes(f"{GOOD}\n".encode("utf-16-be"))
    (folder / "huge-line.json").write_text('{"user": "' + "h" * 10_000_000 + '", "timestamp": 5}\n{"oops"\n')
    (folder / "compressed.json.gz").write_bytes(gzip.compress(f"{GOOD}\n{{bad\n".encode()))
    (folder / "array.json.gz").write_bytes(gzip.compress(f"[{GOOD},\n{GOOD}]".encode()))
    (folder / "not-gzip.json.gz").write_text(f"{GOOD}\n{GOOD}\n")
    (folder / "truncated.json.gz").write_bytes(gzip.compress(f"{GOOD}\n".encode() * 1000)[:-20])
    (folder / "nul-padded.json.gz").write_bytes(gzip.compress(f"{GOOD}\n".encode() * 3) + bytes(4096))
    (folder / "long-number.json").write_text(f'[{GOOD}, {{"user": "a@x.com", "timestamp": 9, "x": {"7" * 1001}}}]')
    (folder / "deep.json").write_text("[" * 5000 + "]" * 5000)  # too deep for any JSON reader here: one bad line
    return landing


def test_the_parse_has_one_row_for_each_record_the_reference_counts_file_by_file(messy_landing, spark):
    """Lines, array elements, one per unreadable gzip: the count the landing check uses is the parse's own, so it
    must agree with the reference's reading of the same bytes, file by file (files Spark's readers miscounted
    among them)."""
    files = list_landing_files(str(messy_landing), "accelerometer")
    records, quarantine = read_source(messy_landing, "accelerometer")
    expected = Counter(order[1] for _, order in records) + Counter(name for name, _ in quarantine.elements())
    parsed = parse_landing(spark, files, SOURCE_FIELDS["accelerometer"], Limits())
    counted = Counter({row.source_file: row["count"] for row in parsed.groupBy("source_file").count().collect()})
    assert counted == expected
    assert "empty.json" not in counted
    assert [counted[name] for name in ("pretty-array.json", "not-gzip.json.gz", "truncated.json.gz")] == [4, 1, 1]
    assert [counted[name] for name in ("nul-padded.json.gz", "long-number.json", "deep.json")] == [3, 2, 1]


def test_the_tallys_digests_and_measures_are_those_of_each_tables_rows(messy_landing, spark):
    """The landing step takes both tables' digests and measures from its one aggregation of the parse: they must
    be what a pass over each table's own rows gives (`partition_digests`, as every other table's write counts),
    else a partition would look changed, or unchanged, to the next run."""
    landing, quarantine = LANDING_TABLES["accelerometer"], QUARANTINE_TABLES["accelerometer"]
    files = list_landing_files(str(messy_landing), "accelerometer")
    parsed = parse_landing(spark, files, SOURCE_FIELDS["accelerometer"], Limits())
    # Two more lines, of two reasons of their own, that break a rule of the quarantine (as a parser's bug would):
    # the quarantine's measures add up over its reasons.
    broken = parsed.where("source_file = 'bad-json.json' AND line_number = 2").withColumn("raw_text", F.lit(None))
    parsed = parsed.unionByName(broken.withColumn("reason", F.lit("one"))).unionByName(
        broken.withColumn("reason", F.lit("two"))
    )
    dates = sorted({file.ingest_date for file in files})
    span = reading_span(READING_TIME["accelerometer"])
    counts, counted = tally(parsed, dates, landing, quarantine, span)
    assert counted[landing] == partition_digests(landing_records(parsed, landing), written_measures(landing, span))
    expected = partition_digests(quarantine_records(parsed, quarantine), written_measures(quarantine))
    assert counted[quarantine] == expected
    assert len([reason for reason in counts["2024-01-02"] if reason]) > 10  # many reasons, added up
    assert expected[1]["2024-01-02"]["raw_text: not_nullable"] == 2
    assert "2024-01-01" in dates and "2024-01-01" not in expected[0]  # a date without bad lines


@pytest.mark.slow
def test_every_case_lands_or_is_quarantined_with_a_reason(messy_landing, tmp_path, spark):
    """Through a real `stedi` process."""
    lake = tmp_path / "lake"
    result = stedi_process("materialize", "--landing", str(messy_landing), "--lake", str(lake))
    assert result.returncode == 0, result.stderr
    stored = Lake(str(lake))
    quarantine = stored.read(spark, QUARANTINE_TABLES["accelerometer"]).collect()
    expected = reference_tables(messy_landing)
    assert Counter((row.source_file, row.line_number) for row in quarantine) == expected["accelerometer_quarantine"]
    assert all(row.reason and row.raw_text is not None for row in quarantine)
    assert max(len(row.raw_text) for row in quarantine) <= 4096
    reasons = {(row.source_file, row.line_number): row.reason for row in quarantine}
    assert reasons[("untypeable.json", 2)] == "field 'timestamp': fractional number 1.5 where an integer is expected"
    assert reasons[("missing-key.json", 1)] == "missing key field 'timestamp'"
    assert reasons[("invalid-utf8.json", 2)].startswith("invalid UTF-8")
    assert reasons[("pretty-array.json", 3)] == "not a JSON object (found: number)"
    assert reasons[("not-gzip.json.gz", 1)].startswith("unreadable gzip file: Not a gzipped file")
    assert reasons[("truncated.json.gz", 1)].startswith("unreadable gzip file: Compressed file ended")
    utf16 = "the file is UTF-16 (little-endian), not UTF-8: convert it to UTF-8 and land it again"
    assert reasons[("utf16.json", 1)] == reasons[("utf16.json", 2)] == utf16
    assert reasons[("utf16be.json", 1)].startswith("the file is UTF-16 (big-endian), not UTF-8")
    assert not [key for key in reasons if key[0].startswith("bom")]  # a byte-order mark is not data
    landing_rows = stored.read(spark, LANDING_TABLES["accelerometer"])
    assert landing_rows.count() == sum(expected["accelerometer_landing"].values())
    assert landing_rows.where("source_file = 'huge-line.json'").count() == 0
    assert reasons[("huge-line.json", 1)].startswith("the record is over 1 MiB, the largest landing record read")
    assert landing_rows.where("source_file = 'nul-padded.json.gz'").count() == 3
    assert reasons[("long-number.json", 2)] == f"field 'x': number {'7' * 1001} out of the double range"
    assert landing_rows.where("source_file = 'array.json.gz'").count() == 2
    state = stored.state(LANDING_TABLES["accelerometer"])
    quarantine_state = stored.state(QUARANTINE_TABLES["accelerometer"])
    for date, entry in state.items():
        assert entry["lines_landed"] == entry["rows"] + quarantine_state[date]["rows"], date


@pytest.mark.parametrize(
    "problem, message",
    [
        ("missing landing", "is not a readable folder"),
        ("malformed date folder", "malformed ingest date folder 'ingest_date=2024-13-45'"),
        ("link outside", "links outside the landing root"),
        ("unwritable lake", "is not writable"),
    ],
)
def test_bad_configuration_is_one_clear_line_and_writes_nothing(problem, message, tmp_path, capsys):
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    folder = landing / "customer" / "landing"
    folder.mkdir(parents=True)
    (folder / "customer-1700000000000.json").write_text('{"email": "a@x.com"}\n')
    if problem == "missing landing":
        landing = tmp_path / "nowhere"
    elif problem == "malformed date folder":
        (folder / "ingest_date=2024-13-45").mkdir()
        (folder / "ingest_date=2024-13-45" / "c.json").write_text("{}\n")
    elif problem == "link outside":
        (tmp_path / "elsewhere.json").write_text("{}\n")
        os.symlink(tmp_path / "elsewhere.json", folder / "linked.json")
    else:  # a lake path below a regular file cannot be created, even by root
        (tmp_path / "a-file").write_text("")
        lake = tmp_path / "a-file" / "lake"
    assert main(["materialize", "--landing", str(landing), "--lake", str(lake), "--pseudonym-key", "k"]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and message in error and error.startswith("stedi: ")
    assert not lake.exists() or not any(lake.iterdir())
    assert not (tmp_path / "lake").exists()


def test_unknown_option_value_is_refused_before_anything_runs(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["materialize", "--landing", str(tmp_path), "--lake", str(tmp_path / "lake"), "--ml-join", "nearest"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'nearest'" in capsys.readouterr().err
    assert not (tmp_path / "lake").exists()


def test_offline_with_no_cached_jars_is_one_clear_line(tmp_path):
    """The JVM reaches no repository (its proxy is a closed port) and the jar cache is empty."""
    landing = tmp_path / "landing" / "customer" / "landing"
    landing.mkdir(parents=True)
    (landing / "customer-1700000000000.json").write_text('{"email": "a@x.com"}\n')
    offline = "-Dhttps.proxyHost=127.0.0.1 -Dhttps.proxyPort=9 -Dhttp.proxyHost=127.0.0.1 -Dhttp.proxyPort=9"
    env = {**os.environ, jars.JAR_CACHE_ENV: str(tmp_path / "empty-cache"), "JAVA_TOOL_OPTIONS": offline}
    lake = str(tmp_path / "lake")
    command = ["materialize", "--landing", str(tmp_path / "landing"), "--lake", lake, "--pseudonym-key", "k"]
    result = subprocess.run(
        [sys.executable, "-m", "stedi_assets.cli", *command], env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 2
    (error,) = result.stderr.strip().splitlines()
    assert error.startswith("stedi: Spark could not start") and "connect to the internet once" in error
    log = re.search(r"\(details: (.+)\)$", error).group(1)
    assert "repo1.maven.org" in Path(log).read_text()  # Ivy tried, and failed


ODD_NAMES = ["a [1].json", "b:2.json", "c%20.json", "d é.json", "e f.json", "g..json", "h{i}.json", "j*?.json"]


@pytest.mark.slow
def test_any_file_name_is_read_literally_and_the_size_limits_are_the_users(tmp_path):
    """Names Hadoop would read as a glob or a URI, landed beside sample data, through a real `stedi` process:
    every line lands under its file's own name. Limits set lower (one by option, one by variable) quarantine a
    file and a line past them, each in one row naming its limit."""
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    write_sample_landing(landing, customers=5, seed=2)
    folder = landing / "accelerometer" / "landing" / "ingest_date=2024-02-01"
    folder.mkdir()
    for number, name in enumerate(ODD_NAMES):
        (folder / name).write_text(f"{GOOD}\n" + GOOD.replace("1700000000000", str(1700000000001 + number)) + "\n")
    sample_date = landing / "accelerometer" / "landing" / "ingest_date=2024-01-01"
    (sample_date / "long-line.json").write_text(GOOD.replace("a@x.com", "a" * 2000 + "@x.com") + f"\n{GOOD}\n")
    (sample_date / "big.json.gz").write_bytes(gzip.compress(f"{GOOD}\n".encode() * 30_000))  # 2.4 MB of lines
    command = ["materialize", "--landing", str(landing), "--lake", str(lake), "--pseudonym-key", "k"]
    result = subprocess.run(
        [sys.executable, "-m", "stedi_assets.cli", *command, "--max-file-size", "1MiB"],
        env={**os.environ, "STEDI_MAX_RECORD_SIZE": "1KiB"},
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    landed = Counter(row["source_file"] for row in table_rows(lake, "accelerometer_landing"))
    assert {name: landed[name] for name in ODD_NAMES} == dict.fromkeys(ODD_NAMES, 2)
    quarantined = {
        (row["source_file"], row["line_number"]): row["reason"] for row in table_rows(lake, "accelerometer_quarantine")
    }
    assert not [name for name, _ in quarantined if name in ODD_NAMES]
    assert quarantined[("long-line.json", 1)].startswith("the record is over 1 KiB")
    assert quarantined[("big.json.gz", 1)].startswith("the file is over 1 MiB once decompressed")
    assert (landed["long-line.json"], landed["big.json.gz"]) == (1, 0)
    expected = reference_tables(landing, pseudonym_key="k", max_file=2**20, max_record=2**10)
    assert Counter(quarantined.keys()) == expected["accelerometer_quarantine"]
    for table in ("accelerometer_landing", "accelerometer_trusted"):
        assert lake_table(lake, table) == expected[table], table


def test_names_hadoop_reads_as_globs_are_read_literally_by_spark_itself(tmp_path, spark):
    """Glue and EMR hand `s3://` paths to Spark's reader as listed (no stand-ins): each glob character is escaped
    for Hadoop's pattern matcher, which S3A shares with the local file system tried here."""
    folder = tmp_path / "accelerometer" / "landing" / "ingest_date=2024-02-01"
    folder.mkdir(parents=True)
    names = [name for name in ODD_NAMES if ":" not in name] + ["k\\l.json", "[x].json"]
    for name in names:
        (folder / name).write_text(f"{GOOD}\n")
    (folder / "x.json").write_text(f"{GOOD}\n{GOOD}\n")  # what `[x].json` would match as a pattern
    files = list_landing_files(str(tmp_path), "accelerometer")
    assert not [file for file in files if file.landed_name]  # read as listed
    parsed = parse_landing(spark, files, SOURCE_FIELDS["accelerometer"], Limits()).groupBy("source_file").count()
    assert {row.source_file: row["count"] for row in parsed.collect()} == {**dict.fromkeys(names, 1), "x.json": 2}


def stedi_process(*arguments: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "stedi_assets.cli", *arguments]
    return subprocess.run(command, env=env, capture_output=True, text=True)


def assert_one_clear_failure(result: subprocess.CompletedProcess, cause: str | tuple[str, ...], advice: str) -> None:
    """Exit 1; each failure on the terminal in one line, with its cause (or one of the `cause` alternatives) and
    what to do (the one expected among them); no trace and no class name."""
    assert result.returncode == 1, result.stderr
    lines = result.stderr.splitlines()
    causes = (cause,) if isinstance(cause, str) else cause
    assert any(any(c in line for c in causes) and advice in line for line in lines), result.stderr
    failures = [line for line in lines if line.startswith(("FAILED ", "stedi: maintenance failed: "))]
    assert failures and all(": the " in line for line in failures), result.stderr  # a cause, then what to do
    assert len(lines) <= len(failures) + 1, result.stderr
    assert "Traceback" not in result.stderr and "dagster._core" not in result.stderr
    assert "Exception" not in result.stderr and "Error:" not in result.stderr, result.stderr


@pytest.fixture
def tiny_disk(tmp_path):
    """A 256 KiB file system (tmpfs), for a lake that runs out of space."""
    folder = tmp_path / "tiny"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=256k", "tmpfs", str(folder)]).returncode:
        pytest.skip("mounting a tmpfs needs root")
    yield folder
    subprocess.run(["umount", "--lazy", str(folder)], check=True)


@pytest.mark.slow
def test_a_full_disk_is_one_clear_line(tmp_path, tiny_disk):
    landing = tmp_path / "landing"
    write_sample_landing(landing, customers=10, seed=2)
    result = stedi_process("materialize", "--landing", str(landing), "--lake", str(tiny_disk), "--pseudonym-key", "k")
    # The system's words or SQLite's (the catalog's file), from whichever write meets the full disk first.
    assert_one_clear_failure(result, ("No space left on device", "database or disk is full"), "the disk is full")


@pytest.fixture
def immutable(tmp_path):
    """`chattr +i` on folders (then even root may not write them), undone after the test."""
    flagged = []

    def flag(folder: Path) -> None:
        if subprocess.run(["chattr", "-R", "+i", str(folder)]).returncode:
            pytest.skip("chattr +i needs root and a file system that supports it")
        flagged.append(folder)

    yield flag
    for folder in flagged:
        subprocess.run(["chattr", "-R", "-i", str(folder)], check=True)


@pytest.mark.slow
def test_an_unwritable_lake_folder_is_one_clear_line_for_materialize_and_maintain(tmp_path, spark, immutable):
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    write_sample_landing(landing, customers=5, seed=2)
    run = ["materialize", "--landing", str(landing), "--lake", str(lake), "--pseudonym-key", "k"]
    for date in ("2024-02-01", "2024-02-02"):  # two runs: every landing table has an older snapshot to expire
        assert main(run) == 0
        (landing / "accelerometer" / "landing" / f"ingest_date={date}").mkdir()
        (landing / "accelerometer" / "landing" / f"ingest_date={date}" / "new.json").write_text(f"{GOOD}\n")
    immutable(lake / "landing")

    assert_one_clear_failure(stedi_process(*run), str(lake / "landing"), "the lake may not be written there")

    result = stedi_process("maintain", "--lake", str(lake), "--retain-days", "0")
    assert_one_clear_failure(result, str(lake / "landing"), "the lake may not be written there")
    # Its last line (a first run of `maintain` in a session may first say it generated the installation's key).
    assert result.stderr.splitlines()[-1].startswith("stedi: maintenance failed: ")


# Loaded at the start of every Python process given its folder (`sitecustomize`): between the parse and the
# commit, the landing step's table rows lose the row of `lost.json` and get the row of `invented.json` twice.
FORGERY = """
import os
if os.environ.get("STEDI_TEST_FORGERY"):
    from stedi_assets.zones import landing

    landing_records = landing.landing_records

    def forged(records, table):
        rows = landing_records(records, table).where("source_file != 'lost.json'")
        return rows.unionByName(rows.where("source_file = 'invented.json'"))

    landing.landing_records = forged
"""


@pytest.mark.slow
def test_a_record_lost_or_invented_on_the_way_to_the_table_fails_the_count(tmp_path):
    """The count comes from the parse, so a row the landing table loses, or gains, between the parse and the
    commit must still fail `lines_accounted_for` in a real `stedi` process, for its date only: one row lost on
    one date, one invented on another, in one run."""
    landing, lake, forger = tmp_path / "landing", tmp_path / "lake", tmp_path / "forger"
    write_sample_landing(landing, customers=5, seed=2)
    unaccounted = {"2024-02-01": ("lost.json", 1), "2024-02-02": ("invented.json", -1)}
    for date, (name, _) in unaccounted.items():
        folder = landing / "accelerometer" / "landing" / f"ingest_date={date}"
        folder.mkdir()
        (folder / name).write_text(f"{GOOD}\n")
    forger.mkdir()
    (forger / "sitecustomize.py").write_text(FORGERY)
    env = {**os.environ, "PYTHONPATH": str(forger), "STEDI_TEST_FORGERY": "on"}
    command = ["materialize", "--landing", str(landing), "--lake", str(lake), "--pseudonym-key", "k"]
    result = subprocess.run(
        [sys.executable, "-m", "stedi_assets.cli", *command], env=env, capture_output=True, text=True
    )
    assert result.returncode == 1, result.stderr
    assert any("lines_accounted_for" in line for line in result.stderr.splitlines()), result.stderr
    landed, rows = table_states(lake)["accelerometer_landing"], Counter()
    for table in ("accelerometer_landing", "accelerometer_quarantine"):
        rows.update(row["ingest_date"] for row in table_rows(lake, table))
    expected = {**dict.fromkeys(landed, 0), **{date: count for date, (_, count) in unaccounted.items()}}
    assert {date: entry["lines_landed"] - rows[date] for date, entry in landed.items()} == expected
    # The counts in the lake's state, which the check reads, are the files' too: a later run, without the
    # forgery, parses nothing again and still fails the count.
    quarantined = table_states(lake)["accelerometer_quarantine"]
    assert {d: e["lines_landed"] - e["rows"] - quarantined[d]["rows"] for d, e in landed.items()} == expected
    assert main(command) == 1


def descendants(pid: int) -> set[int]:
    """Every process below `pid` (Spark's JVM, started by the `stedi` process), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in filter(str.isdigit, os.listdir("/proc")):
        try:
            parent = int(Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()[1])
        except OSError:  # it ended meanwhile
            continue
        children.setdefault(parent, []).append(int(entry))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def customer_lines(landing: Path, first: int, count: int) -> list[str]:
    """Starter customers, each given research consent at its last update and updated one millisecond later:
    a redelivery that changes who is trusted."""
    (starter,) = (landing / "customer" / "landing").glob("*.json")
    lines = []
    for line in starter.read_text().splitlines()[first : first + count]:
        customer = json.loads(line)
        customer["shareWithResearchAsOfDate"] = customer.get("shareWithResearchAsOfDate") or customer["lastUpdateDate"]
        customer["lastUpdateDate"] += 1
        lines.append(json.dumps(customer))
    return lines


@pytest.mark.slow
def test_a_hostile_delivery_beside_the_starter_data_lands_and_spark_listens_on_loopback_only(starter_data, tmp_path):
    """The issue's delivery, through a real `stedi` process: a gzip bomb (1 GiB of zeros and more), a name Hadoop
    reads as a glob, one it reads as a URI, a gzip with NUL padding after its stream."""
    landing, lake = tmp_path / "landing", tmp_path / "lake"
    shutil.copytree(starter_data, landing)
    folder = landing / "customer" / "landing" / "ingest_date=2024-03-01"
    folder.mkdir()
    (folder / "customers [1].json").write_text("\n".join(customer_lines(landing, 0, 40)) + "\n")
    (folder / "customers:2.json").write_text("\n".join(customer_lines(landing, 40, 40)) + "\n")
    padded = "\n".join(customer_lines(landing, 80, 40)).encode()
    (folder / "customers-padded.json.gz").write_bytes(gzip.compress(padded) + bytes(8192))
    with (folder / "bomb.json.gz").open("wb") as bomb, gzip.GzipFile(fileobj=bomb, mode="wb") as stream:
        for _ in range(1025):
            stream.write(bytes(2**20))  # 1 GiB and 1 MiB of zeros: about 1 MiB on disk

    command = ["materialize", "--landing", str(landing), "--lake", str(lake), "--pseudonym-key", "k"]
    run = subprocess.Popen(
        [sys.executable, "-m", "stedi_assets.cli", *command], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    listening = set()
    while run.poll() is None:
        for pid in descendants(run.pid):
            with contextlib.suppress(OSError):
                listening |= listening_addresses(pid)
        time.sleep(0.2)
    stdout, stderr = run.communicate()
    assert run.returncode == 0, stderr.decode()[-3000:]
    assert listening and listening <= LOOPBACK, listening  # Spark's ports were seen, all on loopback

    quarantine = [row for row in table_rows(lake, "customer_quarantine") if row["ingest_date"] == "2024-03-01"]
    assert [(row["source_file"], row["line_number"]) for row in quarantine] == [("bomb.json.gz", 1)]
    assert quarantine[0]["reason"].startswith("the file is over 1 GiB once decompressed")
    landed = Counter(row["source_file"] for row in table_rows(lake, "customer_landing"))
    assert [landed[name] for name in ("customers [1].json", "customers:2.json", "customers-padded.json.gz")] == [40] * 3
    expected = reference_tables(landing, pseudonym_key="k")
    for table in TABLE_FIELDS:
        assert lake_table(lake, table) == expected[table], table
