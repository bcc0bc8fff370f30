"""Where the shared Dagster instance lives, and that processes starting together can all open a new one."""

import logging
import multiprocessing
import shutil
import time
from collections import Counter
from pathlib import Path

import dagster as dg
import sqlalchemy

from stedi_assets import instance_storage
from stedi_assets.instance import SETTINGS, dagster_home, open_instance


def plain_dagster(tmp_path: Path) -> dg.DagsterInstance:
    """A copy of the instance folder `open_instance` made under `tmp_path`, opened with Dagster's own instance and
    storage."""
    plain = tmp_path / "plain"
    shutil.copytree(tmp_path / "dagster", plain)
    (plain / "dagster.yaml").write_text("telemetry:\n  enabled: false\n")
    return dg.DagsterInstance.from_config(str(plain))


def log_line(message: str) -> dg.EventLogEntry:
    """A plain log line of the run `a-run`."""
    return dg.EventLogEntry(None, logging.INFO, message, "a-run", time.time())


def test_the_instance_is_beside_a_local_lake_and_data_dagster_for_a_lake_on_s3(tmp_path, monkeypatch):
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert dagster_home("data/lake") == tmp_path / "data" / "dagster"
    assert (tmp_path / "data" / "dagster" / "dagster.yaml").read_text() == SETTINGS.read_text()
    assert dagster_home("s3://bucket/lake") == tmp_path / "data" / "dagster"
    assert dagster_home(str(tmp_path / "elsewhere" / "lake")) == tmp_path / "elsewhere" / "dagster"


def test_dagster_home_overrides_and_keeps_its_own_settings(tmp_path, monkeypatch):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "mine"))
    assert dagster_home("data/lake") == tmp_path / "mine"
    assert not (tmp_path / "mine" / "dagster.yaml").exists()  # the user's home: its settings are the user's
    assert not (tmp_path / "data").exists()


def _open(lake_root: str) -> list[str]:
    with open_instance(lake_root) as instance:
        return instance.get_dynamic_partitions("ingest_date")


def test_processes_opening_a_new_instance_at_once_all_open_it(tmp_path, monkeypatch):
    """Without taking turns, Dagster's schema migrations of a new instance's SQLite databases break."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    with multiprocessing.get_context("spawn").Pool(4) as pool:
        assert pool.map(_open, [str(tmp_path / "lake")] * 4) == [[]] * 4
    assert Path(tmp_path / "dagster" / "history").is_dir()


def test_the_instance_keeps_an_engine_per_database_file_and_plain_dagster_reads_what_it_wrote(tmp_path, monkeypatch):
    """The event log of the package's settings (`instance_storage`) makes one SQLAlchemy engine per database file,
    not one per connection as Dagster's does, keeps a bounded number of them and the index's connections, and
    writes the files Dagster's own storage reads."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    engines, uses, connections = [], Counter(), Counter()

    def create_engine(url, *args, **kwargs):
        engines.append(sqlalchemy.create_engine(url, *args, **kwargs))
        file = Path(url.removeprefix("sqlite:///")).name
        sqlalchemy.event.listen(engines[-1], "checkout", lambda *_: uses.update([file]))
        sqlalchemy.event.listen(engines[-1], "connect", lambda *_: connections.update([file]))
        return engines[-1]

    monkeypatch.setattr(instance_storage, "create_engine", create_engine)

    @dg.asset
    def reading() -> int:
        return 1

    runs = instance_storage.RUN_ENGINES + 2
    with open_instance(str(tmp_path / "lake")) as instance:
        for _ in range(runs):
            assert dg.materialize([reading], instance=instance).success
        event_log = instance.event_log_storage
        assert isinstance(event_log, instance_storage.SqliteEventLogStorage)
        assert len(engines) == runs + 1  # each run's file and the index, each once (Dagster's: once per connection)
        # The index keeps its connections (one, and one more to set it up; Dagster's: one per use), a run's file
        # makes one per use, as Dagster's, so that closing it checkpoints the file for its watchers.
        assert connections["index.db"] <= 2 < 20 < uses["index.db"]
        assert all(connections[file] == uses[file] for file in uses if file != "index.db")
        assert len(event_log._engines) == instance_storage.RUN_ENGINES + 1
        written = instance.get_latest_materialization_event(dg.AssetKey("reading")).run_id

    # The same folder with Dagster's own instance and storage.
    with plain_dagster(tmp_path) as instance:
        assert type(instance) is dg.DagsterInstance
        assert len(instance.get_runs()) == runs
        assert instance.get_latest_materialization_event(dg.AssetKey("reading")).run_id == written


def test_a_wiped_event_log_writes_a_run_to_its_new_file_not_to_the_deleted_one(tmp_path, monkeypatch):
    """A wipe deletes the runs' files: a connection kept to one would write into the deleted file, lost (why a
    run's file keeps no connection)."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)

    with open_instance(str(tmp_path / "lake")) as instance:
        storage = instance.event_log_storage
        storage.store_event(log_line("before the wipe"))
        storage.wipe()
        storage.store_event(log_line("after the wipe"))

    with plain_dagster(tmp_path) as instance:
        assert [log.user_message for log in instance.all_logs("a-run")] == ["after the wipe"]


def test_a_watcher_of_a_run_sees_each_new_event_as_it_is_written(tmp_path, monkeypatch):
    """Dagster's UI follows a run's log by watching the run's database file change, which its write-ahead log
    reaches when the last connection to it closes (why a run's file keeps no connection)."""
    monkeypatch.delenv("DAGSTER_HOME", raising=False)
    seen = []

    with open_instance(str(tmp_path / "lake")) as writer, open_instance(str(tmp_path / "lake")) as watcher:
        writer.event_log_storage.store_event(log_line("first"))
        watcher.event_log_storage.watch("a-run", None, lambda event, cursor: seen.append(event.user_message))
        for message in ("second", "third"):
            writer.event_log_storage.store_event(log_line(message))
            deadline = time.monotonic() + 10
            while message not in seen and time.monotonic() < deadline:
                time.sleep(0.1)
            assert message in seen, seen
