"""Where the shared Dagster instance lives, and that processes starting together can all open a new one."""

import multiprocessing
from pathlib import Path

from stedi_assets.instance import SETTINGS, dagster_home, open_instance


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
