"""An installation's folders: one set for every process, with and without --data-dir, and the
files an earlier launcher put in the wrong place found and moved."""

from __future__ import annotations

from pathlib import Path

import pytest

from gpustack_tui.config import DATA_DIR_ENV, adopt_misplaced, resolve_paths


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty HOME with no XDG variables and no data-dir variable: platformdirs' defaults."""
    monkeypatch.setenv("HOME", str(tmp_path))
    for name in ("XDG_DATA_HOME", "XDG_CONFIG_HOME", "XDG_STATE_HOME", DATA_DIR_ENV):
        monkeypatch.delenv(name, raising=False)
    return tmp_path


def test_the_default_installation_uses_three_folders_and_starts_its_server_without_options(
    home: Path,
) -> None:
    paths = resolve_paths()
    assert paths.data_dir == home / ".local/share/gpustack-tui"
    assert paths.token_file == home / ".config/gpustack-tui/token"
    assert paths.server_file == home / ".local/state/gpustack-tui/server.json"
    assert paths.root is None and paths.server_args() == []


def test_a_chosen_folder_is_passed_on_to_the_server(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    chosen = resolve_paths(home / "inst")
    assert chosen.server_args() == ["--data-dir", str(home / "inst")]
    assert chosen.token_file == home / "inst" / "config" / "token"
    monkeypatch.setenv(DATA_DIR_ENV, str(home / "env"))
    assert resolve_paths().server_args() == ["--data-dir", str(home / "env")]


def test_what_an_earlier_launcher_misplaced_is_moved_and_nothing_is_lost(home: Path) -> None:
    data = home / ".local/share/gpustack-tui"
    (data / "config").mkdir(parents=True)
    (data / "state").mkdir()
    (data / "config" / "token").write_text("old-token\n")
    (data / "config" / "known_hosts").write_text("host key\n")
    (data / "state" / "server.json").write_text('{"url": "http://127.0.0.1:9190"}')
    (data / "state.db").write_text("the database stays where it is")

    paths = resolve_paths()  # moves on the way

    assert paths.token_file.read_text() == "old-token\n"
    assert paths.known_hosts.read_text() == "host key\n"
    assert paths.server_file.exists()
    assert not (data / "config" / "token").exists()
    assert paths.database.read_text() == "the database stays where it is"
    assert adopt_misplaced(paths) == []  # nothing left to move


def test_a_file_already_in_its_place_wins(home: Path) -> None:
    data = home / ".local/share/gpustack-tui"
    (data / "config").mkdir(parents=True)
    (data / "config" / "token").write_text("stale\n")
    config = home / ".config/gpustack-tui"
    config.mkdir(parents=True)
    (config / "token").write_text("current\n")

    assert resolve_paths().token_file.read_text() == "current\n"
    assert (data / "config" / "token").read_text() == "stale\n"  # left, not deleted
