"""The local Spark JVM's class archive (`stedi_assets/jvm_classes.py`): saved by a CLI run, used by the next."""

import re
import subprocess
import sys
from pathlib import Path

import pytest

from stedi_assets import jvm_classes
from stedi_assets.cli import main
from stedi_assets.sample import write_sample_landing
from stedi_assets.spark_config import spark_config
from stedi_assets_tests.lake_contents import TABLE_FIELDS
from stedi_assets_tests.servers import caller_env
from stedi_assets_tests.test_materialize import printed_counts

# The JVM logs where each class it loads comes from: "shared objects file (top)" is the archive a run saved
# (the layer over the JDK's own archive).
FROM_SAVED_ARCHIVE = "source: shared objects file (top)"


@pytest.fixture
def class_cache_at(monkeypatch):
    """Points this process's class archive at a folder for the test (`archive_path` is cached per process), and
    back at the session's afterwards."""

    def point_at(folder) -> None:
        monkeypatch.setenv(jvm_classes.CLASS_CACHE_ENV, str(folder))
        jvm_classes.archive_path.cache_clear()

    yield point_at
    jvm_classes.archive_path.cache_clear()  # before monkeypatch restores the variable: computed again from it


def cli_env(class_cache) -> dict[str, str]:
    """A fresh process's environment: no Dagster instance (an ephemeral one), its own class cache."""
    env = {k: v for k, v in caller_env().items() if k not in ("DAGSTER_HOME", "JAVA_TOOL_OPTIONS")}
    return {**env, jvm_classes.CLASS_CACHE_ENV: str(class_cache)}


def stedi_materialize(landing, lake, env, *flags: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "-m", "stedi_assets.cli", "materialize", "--landing", str(landing), "--lake", str(lake)]
    return subprocess.run([*command, *flags], env=env, capture_output=True, text=True, timeout=900)


def assert_quiet_with_progress(run: subprocess.CompletedProcess) -> None:
    """The terminal shows the command's own lines: where its log is, a line per step as it ends with the rows of
    its tables (the same as the final count table), and the count table. Spark's, the JVM's and Dagster's
    messages are in the log, not on the terminal."""
    assert all(line.startswith("stedi: ") for line in run.stderr.splitlines()), run.stderr[-3000:]
    log = Path(re.search(r"^Log of Spark, its JVM and Dagster: (.+)$", run.stdout, re.MULTILINE).group(1))
    progress = {name: int(rows.replace(",", "")) for name, rows in re.findall(r"(\w+) ([\d,]+) rows?", run.stdout)}
    assert {table: progress[table] for table in TABLE_FIELDS} == printed_counts(run.stdout)
    for noise in ("log4j", "Spark log level", "dagster - ", "Dynamic dump", "Welcome to Dagster"):
        assert noise not in run.stdout, noise
    # No line of Spark's log ("26/12/05 13:44:08 WARN Utils: ..."); a check's own warning is the command's line.
    assert not re.search(r"^\S+ \S+ (?:WARN|INFO|ERROR) \w+: ", run.stdout, re.MULTILINE), run.stdout
    logged = log.read_text()
    assert "log4j" in logged and "RUN_SUCCESS" in logged


@pytest.mark.slow
def test_a_cli_run_saves_the_archive_and_the_next_run_starts_from_it(tmp_path):
    landing, cache, logs = tmp_path / "landing", tmp_path / "classes", tmp_path / "logs"
    write_sample_landing(landing, customers=10, seed=2)
    logs.mkdir()
    env = cli_env(cache)

    first = stedi_materialize(landing, tmp_path / "lake-1", env)
    assert first.returncode == 0, first.stderr[-3000:]
    assert "Saved the Spark JVM's classes" in first.stdout
    assert_quiet_with_progress(first)
    saved = list(cache.iterdir())
    assert len(saved) == 1 and saved[0].name.startswith("spark-classes-") and saved[0].stat().st_size > 10 * 2**20

    # Every JVM of the second run (Spark's launcher too) logs its class loading to a file of its own (%p: pid).
    env["JAVA_TOOL_OPTIONS"] = f"-Xlog:class+load=info:file={logs}/classes-%p.log"
    second = stedi_materialize(landing, tmp_path / "lake-2", env)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "Saved" not in second.stdout
    assert list(cache.iterdir()) == saved  # kept, not replaced
    from_archive = sum(log.read_text().count(FROM_SAVED_ARCHIVE) for log in logs.iterdir())
    assert from_archive > 1000, "the second run's JVM did not start from the saved archive"


@pytest.mark.slow
def test_a_run_that_cannot_save_the_archive_still_succeeds_and_says_why(tmp_path, spark, class_cache_at, capsys):
    """In this process, on the test session's JVM: what is tested is the run's save at its end. That a new JVM
    records nothing for such a folder is the fast tests' below."""
    landing, not_a_folder = tmp_path / "landing", tmp_path / "file"
    write_sample_landing(landing, customers=5, seed=2)
    not_a_folder.write_text("")
    class_cache_at(not_a_folder / "classes")
    status = main(["materialize", "--landing", str(landing), "--lake", str(tmp_path / "lake")])
    run = capsys.readouterr()
    assert status == 0, run.err[-3000:]
    assert "could not save the Spark JVM's classes" in run.err
    assert "customer_landing" in run.out


def test_a_run_records_classes_only_where_the_archive_can_be_saved(class_cache_at, tmp_path):
    """Recording costs a run about 7 s: not paid for an archive whose folder cannot be made (below a file),
    paid for one whose folder does not exist yet but can be made (and is not made to find out)."""
    (tmp_path / "file").write_text("")
    for folder, records in ((tmp_path / "file" / "classes", False), (tmp_path / "new" / "classes", True)):
        class_cache_at(folder)
        options = spark_config("local[*]", record_classes=True).get("spark.driver.extraJavaOptions", "")
        assert ("-XX:+RecordDynamicDumpInfo" in options) == records, folder
    assert not (tmp_path / "new").exists()


def test_a_read_only_cache_folder_is_not_recorded_for_and_saving_says_why(class_cache_at, tmp_path, spark):
    """A folder on a read-only file system (a tmpfs mounted so) exists, so only its writability tells."""
    folder = tmp_path / "read-only"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=64k", "tmpfs", str(folder)]).returncode:
        pytest.skip("mounting a tmpfs needs root")
    class_cache_at(folder)
    try:
        assert "RecordDynamicDumpInfo" not in spark_config("local[*]", record_classes=True).get(
            "spark.driver.extraJavaOptions", ""
        )
        with pytest.raises(PermissionError, match="is not writable"):
            jvm_classes.save_archive()  # with this session's JVM
    finally:
        subprocess.run(["umount", "--lazy", str(folder)], check=True)


def test_no_archive_when_turned_off_or_the_folder_cannot_be_passed_to_the_jvm(class_cache_at, tmp_path):
    for folder in ("off", str(tmp_path / "with space")):
        class_cache_at(folder)
        assert jvm_classes.archive_path() is None
        assert "spark.driver.extraJavaOptions" not in spark_config("local[*]", record_classes=True)


@pytest.mark.parametrize("version, major", [("17.0.15", 17), ("1.8.0_412", 8), ("21", 21), ("11.0.2", 11)])
def test_java_versions_are_read_as_their_major_number(version, major):
    assert jvm_classes._major(version) == major


def test_only_a_run_that_saves_the_archive_pays_for_recording(class_cache_at, tmp_path):
    """Recording costs a run about 7 s: `dagster dev` runs (no `record_classes`) start plain until an archive
    exists, then from it."""
    class_cache_at(tmp_path)
    assert "spark.driver.extraJavaOptions" not in spark_config("local[*]")
    assert (
        "-XX:+RecordDynamicDumpInfo" in spark_config("local[*]", record_classes=True)["spark.driver.extraJavaOptions"]
    )
    jvm_classes.archive_path().write_bytes(b"")
    for record_classes in (False, True):
        options = spark_config("local[*]", record_classes=record_classes)["spark.driver.extraJavaOptions"]
        assert f"-XX:SharedArchiveFile={jvm_classes.archive_path()}" in options.split()
    assert "spark.driver.extraJavaOptions" not in spark_config("spark://master:7077")
