"""TUI test helpers: an app with no server behind it, and a switch for tests that need one."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gpustack_tui.client import Client
from gpustack_tui.tui.app import GpustackApp
from tests.tui.samples import StubClient, closed_port

SIZE = (120, 36)
__all__ = ["SIZE", "StubClient", "closed_port"]


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
