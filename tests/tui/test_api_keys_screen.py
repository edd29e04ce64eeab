"""The API keys and usage views against a real server process."""

from __future__ import annotations

import httpx
from textual.widgets import Input

from gpustack_tui.tui.screens.api_keys import (
    ApiKeysScreen,
    CreateKeyModal,
    ShownOnceModal,
    parse_new_key,
)
from gpustack_tui.tui.screens.confirm import ConfirmModal
from gpustack_tui.tui.screens.usage import UsageScreen
from gpustack_tui.tui.widgets.keyed_table import KeyedTable
from tests.fixtures.server import RunningServer
from tests.fixtures.waiting import pilot_wait_until
from tests.tui.conftest import SIZE, app_for
from tests.tui.samples import spec


def test_the_form_is_checked_before_anything_is_sent() -> None:
    assert parse_new_key("app", "b a", "").deployments == ["a", "b"]
    assert parse_new_key("app", "", "2").expires_in_days == 2
    for fields, words in (
        (("Bad Name", "", ""), "name"),
        (("app", "", "soon"), "days"),
        (("app", "", "-1"), "expires_in_days"),
    ):
        try:
            parse_new_key(*fields)
        except ValueError as exc:
            assert words in str(exc)
        else:
            raise AssertionError(f"{fields} was accepted")


async def test_create_show_once_and_revoke(server: RunningServer) -> None:
    app = app_for(server)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("a")
        screen = await pilot_wait_until(
            pilot,
            "the keys view",
            lambda: isinstance(app.screen, ApiKeysScreen) and app.screen,
            timeout=20,
        )
        await pilot.press("n")
        form = await pilot_wait_until(
            pilot,
            "the form",
            lambda: isinstance(app.screen, CreateKeyModal) and app.screen,
            timeout=20,
        )
        form.query_one("#key-name", Input).value = "Bad Name"
        await pilot.press("enter")
        assert "name" in str(form.query_one("#key-error").render())
        form.query_one("#key-name", Input).value = "chat-app"
        form.query_one("#key-scope", Input).value = "chat"
        await pilot.press("enter")
        shown = await pilot_wait_until(
            pilot,
            "the new key",
            lambda: isinstance(app.screen, ShownOnceModal) and app.screen,
            timeout=20,
        )
        key = shown.query_one("#new-key", Input).value
        assert key.startswith("gpustack_")
        await pilot.press("x")  # read-only: typing changes nothing
        assert shown.query_one("#new-key", Input).value == key
        await pilot.press("escape")
        await pilot_wait_until(
            pilot, "the row", lambda: "key:chat-app" in screen.table.row_keys, timeout=20
        )
        assert screen.table.get_cell("key:chat-app", "scope") == "chat"
        assert key not in str([screen.table.get_row(k) for k in screen.table.row_keys])
        ok = httpx.get(f"{server.url}/v1/models", headers={"Authorization": f"Bearer {key}"})
        assert ok.status_code == 200

        screen.table.select_key("key:chat-app")
        await pilot.press("d")
        await pilot_wait_until(
            pilot, "the question", lambda: isinstance(app.screen, ConfirmModal), timeout=20
        )
        await pilot.press("y")
        await pilot_wait_until(
            pilot,
            "the revoked state",
            lambda: screen.table.get_cell("key:chat-app", "state") == "revoked",
            timeout=20,
        )
        refused = httpx.get(f"{server.url}/v1/models", headers={"Authorization": f"Bearer {key}"})
        assert refused.status_code == 401


async def test_usage_view_shows_what_was_served(server: RunningServer) -> None:
    app = app_for(server)
    async with app.run_test(size=SIZE) as pilot:
        app.push_screen(UsageScreen())
        screen = await pilot_wait_until(
            pilot,
            "the usage view",
            lambda: isinstance(app.screen, UsageScreen) and app.screen,
            timeout=20,
        )
        await pilot_wait_until(
            pilot, "a first fetch", lambda: screen.last_update is not None, timeout=20
        )
        assert "no inference requests" in screen.status.message
        server.client().create_deployment(spec("chat", 0))
        key = server.api_key("counted")
        for _ in range(3):  # no instance runs: 503, counted as errors
            httpx.post(
                f"{server.url}/v1/chat/completions",
                json={"model": "chat"},
                headers={"Authorization": f"Bearer {key}"},
            )
        by_deployment = screen.query_one("#by-deployment", KeyedTable)
        by_key = screen.query_one("#by-key", KeyedTable)
        await pilot_wait_until(
            pilot, "a row", lambda: "deployment:chat" in by_deployment.row_keys, timeout=20
        )
        assert by_deployment.get_cell("deployment:chat", "requests") == "3"
        assert by_deployment.get_cell("deployment:chat", "errors") == "3"
        assert by_key.get_cell("key:counted", "requests") == "3"
        assert by_key.get_cell("key:counted", "p50") != "-"
