"""The root group: the TUI as default command, global options, the server command's wiring."""

from __future__ import annotations

import sys
import types
from pathlib import Path

import pytest

from gpustack_tui.cli import main as main_module
from gpustack_tui.launcher import ServerStartFailed


@pytest.fixture
def fake_tui(monkeypatch: pytest.MonkeyPatch) -> dict:
    """Replace ensure_server and gpustack_tui.tui.app; record what they were given."""
    seen: dict = {}

    def ensure_server(paths, url=None):
        seen["ensure"] = (paths, url)
        return "http://127.0.0.1:1234", True

    def run_tui(**kwargs):
        seen["tui"] = kwargs

    module = types.ModuleType("gpustack_tui.tui.app")
    module.run_tui = run_tui
    monkeypatch.setitem(sys.modules, "gpustack_tui.tui.app", module)
    monkeypatch.setattr(main_module, "ensure_server", ensure_server)
    return seen


@pytest.mark.parametrize("args", [[], ["tui"]], ids=["default", "tui"])
def test_no_command_runs_the_tui(run, fake_tui, tmp_path: Path, args: list[str]) -> None:
    result = run("--data-dir", str(tmp_path / "d"), "--server", "http://h:1", *args)
    assert result.exit_code == 0, result.output
    paths, url = fake_tui["ensure"]
    assert paths.data_dir == (tmp_path / "d").resolve()
    assert url == "http://h:1"
    assert fake_tui["tui"] == {
        "paths": paths,
        "url": "http://127.0.0.1:1234",
        "started_server": True,
    }


def test_env_selects_the_installation(run, fake_tui, tmp_path: Path) -> None:
    result = run(env={"GPUSTACK_TUI_DATA_DIR": str(tmp_path / "e")})
    assert result.exit_code == 0
    assert fake_tui["ensure"][0].data_dir == (tmp_path / "e").resolve()


def test_server_that_does_not_start_is_an_error(run, monkeypatch) -> None:
    def fail(paths, url=None):
        raise ServerStartFailed("started a server but it did not answer; see its log: /x/log")

    monkeypatch.setattr(main_module, "ensure_server", fail)
    result = run()
    assert result.exit_code == 1
    assert result.stderr == "error: started a server but it did not answer; see its log: /x/log\n"


def test_server_command_passes_its_options(run, monkeypatch, tmp_path: Path) -> None:
    seen = {}
    daemon = types.ModuleType("gpustack_tui.server.daemon")

    class ServerError(RuntimeError):
        pass

    def run_server(paths, host, port, add_local_worker=True):
        seen.update(paths=paths, host=host, port=port, local=add_local_worker)
        if port == 1:
            raise ServerError("port 1 on 0.0.0.0 is in use: choose another with --port")

    daemon.ServerError, daemon.run_server = ServerError, run_server
    monkeypatch.setitem(sys.modules, "gpustack_tui.server.daemon", daemon)
    # the launcher's form: `server --data-dir D --host H --port P`
    result = run("server", "--data-dir", str(tmp_path / "s"), "--host", "0.0.0.0", "--port", "9")
    assert result.exit_code == 0, result.output
    assert seen == {"paths": seen["paths"], "host": "0.0.0.0", "port": 9, "local": True}
    assert seen["paths"].data_dir == (tmp_path / "s").resolve()
    result = run("server", "--no-local-worker", "--port", "1")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: port 1 on 0.0.0.0 is in use")
    assert seen["local"] is False


def test_help_lists_every_command(run) -> None:
    result = run("--help")
    assert result.exit_code == 0
    for name in (
        "apply",
        "deploy",
        "describe",
        "get",
        "instances",
        "logs",
        "ls",
        "rm",
        "scale",
        "server",
        "tui",
        "workers",
    ):
        assert f"  {name} " in result.stdout
