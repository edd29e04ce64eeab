"""TUI test helpers: an app with no server behind it, an app on a real server, the form's keys."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from textual.widgets import Input, Static, TextArea

from gpustack_tui.client import Client
from gpustack_tui.tui.app import GpustackApp
from gpustack_tui.tui.screens.deploy_form import DeployFormScreen
from tests.fixtures.server import RunningServer
from tests.tui.samples import StubClient, closed_port

SIZE = (120, 36)
__all__ = ["SIZE", "StubClient", "app_for", "closed_port", "error_of", "fill_form", "open_form"]


@pytest.fixture
def offline_client() -> Client:
    """A client whose server does not answer: screens are fed model objects directly."""
    return Client(f"http://127.0.0.1:{closed_port()}", None, timeout=2)


@pytest.fixture
def make_app(offline_client: Client) -> Callable[..., GpustackApp]:
    """Build an app without periodic refresh (tests drive `show_data` themselves)."""

    def make(client: Client | None = None, **kwargs: object) -> GpustackApp:
        kwargs.setdefault("refresh_interval", None)
        return GpustackApp(client or offline_client, **kwargs)  # type: ignore[arg-type]

    return make


def app_for(server: RunningServer) -> GpustackApp:
    """An app on `server` that refreshes every 0.3 s."""
    return GpustackApp(server.client(), refresh_interval=0.3)


def fill_form(form: DeployFormScreen, **values: str) -> None:
    """Type `values` into the form's fields by id (Input or TextArea)."""
    for field, value in values.items():
        widget = form.query_one(f"#{field}")
        if isinstance(widget, TextArea):
            widget.text = value
        else:
            assert isinstance(widget, Input)
            widget.value = value


async def open_form(app, pilot) -> DeployFormScreen:
    """Press `n` and return the deploy form it opens."""
    await pilot.press("n")
    await pilot.pause()
    assert isinstance(app.screen, DeployFormScreen)
    return app.screen


def error_of(form: DeployFormScreen, field: str) -> str:
    """The error shown under `field`, or "" when none is."""
    widget = form.query_one(f"#{field}-error", Static)
    return str(widget.render()) if widget.display else ""
