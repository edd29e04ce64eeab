"""The workers view: rows with GPUs, and adding a worker through the host-key question."""

from __future__ import annotations

from textual.widgets import Input

from gpustack_tui.client import ApiError
from gpustack_tui.domain.worker import Worker, WorkerState
from gpustack_tui.tui.screens.add_worker import AddWorkerModal
from gpustack_tui.tui.screens.confirm import ConfirmModal
from gpustack_tui.tui.screens.workers import WorkersScreen
from tests.tui.conftest import SIZE, StubClient
from tests.tui.samples import sample_workers

FINGERPRINT = "SHA256:q3k9bKq8xVbqPZ0d7n0Jv6pVjD1gq1fQH2x9e4i0Xy8"


class HostKeyClient(StubClient):
    """Refuses an unknown host key, then adds the worker once that key is accepted."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: list[tuple] = []

    def add_worker(self, destination, name=None, identity_file=None, accept_host_key=None):
        self.calls.append((destination, name, identity_file, accept_host_key))
        if accept_host_key != FINGERPRINT:
            raise ApiError(
                "host_key_unknown",
                "unknown host key",
                409,
                {"host": "[10.0.0.5]:2222", "key_type": "ssh-ed25519", "fingerprint": FINGERPRINT},
            )
        worker = Worker(name=name or "w1", destination=destination, state=WorkerState.READY)
        self.workers.append(worker)
        return worker


async def open_workers(app, pilot) -> WorkersScreen:
    await pilot.press("w")
    await pilot.pause()
    assert isinstance(app.screen, WorkersScreen)
    return app.screen


async def test_rows_summarise_gpus_and_the_panel_has_a_meter_line_per_gpu(make_app):
    app = make_app(StubClient(workers=sample_workers()))
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_workers(app, pilot)
        await pilot.pause(0.3)
        table = screen.table
        assert table.row_keys == ["worker:gpu-a", "worker:gpu-c", "worker:local"]
        assert table.get_cell("worker:gpu-a", "gpus").plain == "2x H100"
        assert table.get_cell("worker:local", "gpus").plain == "1x Simulated A100 simulated"
        assert table.get_cell("worker:gpu-c", "state").plain == "? unreachable"
        assert table.get_cell("worker:gpu-a", "labels").plain == "rack=r1"
        assert "Workers[3] GPUs[3]" in str(screen.query_one("TitleBar").render())
        lines = screen.gpu_panel.text.splitlines()
        assert lines[0].startswith("▶ gpu-a")  # the selected worker is marked
        assert " 0 GPU▕" in lines[1] and "41% " in lines[1] and "30.0/80.0G" in lines[1]
        assert "97%‼" in lines[2] and "75.0/80.0G‼" in lines[2]  # critical: a glyph too
        assert lines[-1].endswith("SIM") and "simulated, no real accelerator" in lines[-2]
        unreachable = next(line for line in lines if "gpu-c" in line)
        assert "? unreachable  ssh: connection timed out after 10 s" in unreachable
        # the stub has no live figures: the stored inventory is shown and the status says why
        assert "live GPU figures unavailable" in screen.status.message
        await pilot.press("escape")
        await pilot.pause()
        assert not isinstance(app.screen, WorkersScreen)


async def test_add_worker_asks_about_an_unknown_host_key_with_cancel_focused(make_app):
    client = HostKeyClient()
    app = make_app(client)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_workers(app, pilot)
        await pilot.press("a")
        await pilot.pause()
        assert isinstance(app.screen, AddWorkerModal)
        await pilot.press(*"root@10.0.0.5:2222", "tab", *"w1", "tab", *"~/.ssh/id", "enter")
        await pilot.pause(0.5)
        modal = app.screen
        assert isinstance(modal, ConfirmModal)
        assert FINGERPRINT in modal.body_text and "ssh-ed25519" in modal.body_text
        assert "[10.0.0.5]:2222" in modal.body_text
        assert app.focused.id == "cancel"
        await pilot.press("y")
        await pilot.pause(0.5)
        assert client.calls == [
            ("root@10.0.0.5:2222", "w1", "~/.ssh/id", None),
            ("root@10.0.0.5:2222", "w1", "~/.ssh/id", FINGERPRINT),
        ]
        assert app.screen is screen
        assert "added worker w1" in screen.status.message
        await pilot.pause(0.3)
        assert screen.table.row_keys == ["worker:w1"]


async def test_refusing_the_host_key_adds_nothing(make_app):
    client = HostKeyClient()
    app = make_app(client)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_workers(app, pilot)
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"root@h", "ctrl+s")
        await pilot.pause(0.5)
        await pilot.press("enter")  # on Cancel
        await pilot.pause()
        assert len(client.calls) == 1
        assert screen.status.level == "error" and "not trusted" in screen.status.message


async def test_other_add_errors_reopen_the_form_with_what_was_typed(make_app):
    class Refusing(StubClient):
        def add_worker(self, destination, name=None, identity_file=None, accept_host_key=None):
            raise ApiError("auth_failed", "ssh: permission denied (publickey)", 502)

    app = make_app(Refusing())
    async with app.run_test(size=SIZE) as pilot:
        await open_workers(app, pilot)
        await pilot.press("a")
        await pilot.pause()
        await pilot.press(*"root@h", "ctrl+s")
        await pilot.pause(0.5)
        modal = app.screen
        assert isinstance(modal, AddWorkerModal)
        assert modal.query_one("#destination", Input).value == "root@h"
        assert "permission denied" in str(modal.query_one("#add-error").render())


async def test_remove_asks_first(make_app):
    app = make_app(StubClient(workers=sample_workers()))
    async with app.run_test(size=SIZE) as pilot:
        await open_workers(app, pilot)
        await pilot.pause(0.3)
        await pilot.press("d")
        await pilot.pause()
        assert isinstance(app.screen, ConfirmModal)
        assert app.screen.title_text == "Remove worker gpu-a?"
        assert app.focused.id == "cancel"
