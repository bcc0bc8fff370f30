"""The Dagster instance `dagster.yaml` names: Dagster's own, on Dagster's own SQLite storage, except that the event
log keeps one SQLAlchemy engine per database file instead of making one per connection.

Why our own: Dagster's SQLite event log creates and disposes an engine for every connection, and with it
SQLAlchemy's cache of compiled statements. A small run makes some 1,400 connections (each event goes to its
run's file, and an asset event to the index too), so that was about a fifth of a 50-line delivery: 7.1 s to 5.5 s
with kept engines, and a 5-customer build 17.8 s to 15.2 s (interleaved, medians of 3; docs/architecture.md).
Dagster offers no setting for it (its SQLite storages hard-code the engine per connection), and its config names
a storage's folder only as a path written in `dagster.yaml`, which a file shared by every instance cannot hold,
so the storage comes through `instance_class`, whose defaults Dagster asks with the instance's folder.

The index's engine keeps its SQLite connections too (SQLAlchemy's default pool for a database file), and whether
a table exists is asked once per table: opening and closing a connection for each use, as Dagster does, and asking
SQLite some 230 times a run whether a table exists (on the index) took about a tenth of a warm 50-line delivery,
profiled. A run's file keeps Dagster's connection per use: closing the last connection to a file checkpoints its
write-ahead log into it, and that change of the file is what Dagster's watchers of a run (the UI's live log) wait
for; a wipe, which deletes the runs' files, meets no connection kept to them either.

What stays Dagster's: the files, their schema and migrations, the locking. An instance written with either
storage reads with the other.
"""

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import dagster as dg
import yaml
from dagster._core.instance.ref import InstanceRef
from dagster._core.storage.event_log.sqlite import sqlite_event_log
from dagster._core.storage.sqlite_storage import DagsterSqliteStorage, _event_logs_directory
from dagster._serdes import ConfigurableClassData
from sqlalchemy import create_engine
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import NullPool

RUN_ENGINES = 8  # engines of run files kept besides the index's: a webserver reads many runs, a run writes one


class SqliteEventLogStorage(sqlite_event_log.SqliteEventLogStorage):
    """Dagster's SQLite event log (one file per run and an index), with each file's engine kept: the index's, and
    those of the `RUN_ENGINES` runs used last."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        self._engines: OrderedDict[str, Engine] = OrderedDict()
        self._engines_lock = threading.Lock()
        self._tables: set[str] = set()  # tables the index is known to have: Dagster's migrations never drop one
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> "SqliteEventLogStorage":
        return cls(inst_data=inst_data, **config_value)

    def _engine(self, shard: str) -> Engine:
        with self._engines_lock:
            engine = self._engines.get(shard)
            if engine is None:
                connect_args = {"timeout": sqlite_event_log.SQLITE_BUSY_TIMEOUT_SECONDS}
                pool = {} if shard == sqlite_event_log.INDEX_SHARD_NAME else {"poolclass": NullPool}  # module docstring
                engine = create_engine(self.conn_string_for_shard(shard), connect_args=connect_args, **pool)
                self._engines[shard] = engine
            self._engines.move_to_end(shard)
            runs = [name for name in self._engines if name != sqlite_event_log.INDEX_SHARD_NAME]
            for name in runs[: max(0, len(runs) - RUN_ENGINES)]:
                self._engines.pop(name).dispose()
            return engine

    @contextmanager
    def _connect(self, shard: str) -> Iterator[Connection]:
        """As Dagster's `_connect`, on the shard's kept engine."""
        with self._db_lock:
            engine = self._engine(shard)
            if shard not in self._initialized_dbs:
                self._initdb(engine)
                self._initialized_dbs.add(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def has_table(self, table_name: str) -> bool:
        if table_name not in self._tables:
            engine = self._engine(sqlite_event_log.INDEX_SHARD_NAME)
            with engine.connect() as conn:
                if not engine.dialect.has_table(conn, table_name):
                    return False  # a migration may add it: asked again next time
            self._tables.add(table_name)
        return True

    def dispose(self) -> None:
        super().dispose()
        with self._engines_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()


class SqliteStorage(DagsterSqliteStorage):
    """Dagster's SQLite storage (runs, events, schedules under one folder), its event log ours."""

    def __init__(self, base_dir: str, inst_data: ConfigurableClassData | None = None):
        super().__init__(base_dir, inst_data)
        # Dagster's event log, made above, is replaced: it opened nothing but (on a new instance) the index file.
        self._event_log_storage = SqliteEventLogStorage(_event_logs_directory(base_dir))

    @classmethod
    def from_config_value(cls, inst_data, config_value) -> "SqliteStorage":
        return cls.from_local(inst_data=inst_data, **config_value)


class Instance(dg.DagsterInstance):
    """A Dagster instance whose storage, unless `dagster.yaml` names another, is `SqliteStorage` in its folder."""

    @classmethod
    def config_schema(cls) -> dict:
        return {}  # no settings of its own

    @classmethod
    def config_defaults(cls, base_dir: str) -> dict:
        storage = ConfigurableClassData(__name__, SqliteStorage.__name__, yaml.dump({"base_dir": base_dir}))
        return {**InstanceRef.config_defaults(base_dir), "storage": storage}
