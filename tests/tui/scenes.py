"""Every screen of the TUI in a known state: the snapshot tests and the screenshots script.

A scene is a client that answers from sample data (`showcase.ShowcaseClient`) and the keys an
operator presses to reach the screen. `run_before(scene)` turns it into what
`pytest-textual-snapshot`'s `snap_compare` runs; `take_screenshot` runs it for the script.
Each scene waits for what it shows and ends settled (debounce timers fired, requests answered,
cursors not blinking), so that the same scene gives the same picture on every machine.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from textual.pilot import Pilot
from textual.widget import Widget
from textual.widgets import Collapsible, Input, TextArea
from textual.worker import WorkerState

from gpustack_tui.client import Client
from gpustack_tui.domain.instance import Instance, InstanceState
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.tui.app import GpustackApp
from gpustack_tui.tui.screens.deployments import DEP, INST
from tests.fixtures.waiting import pilot_wait_until
from tests.tui.showcase import ShowcaseClient, UnreachableAfterFirst

SIZES = ((120, 36), (80, 24))
"""The terminal sizes every screen is pictured at: a roomy one and the classic minimum."""
WAIT_SECONDS = 15.0
SETTLE_SECONDS = 0.6
STEADY_CHECKS = 3
"""How many looks in a row (50 ms apart) a scroll position must hold before a picture."""
LONG_LIVED_GROUPS = frozenset({"logs"})
"""Thread workers that run as long as their screen (the log stream): not waited for."""

Drive = Callable[[GpustackApp, Pilot], Awaitable[None]]


@dataclass(frozen=True)
class Scene:
    """One screen in one state: how to reach it, and the client that feeds it."""

    name: str
    drive: Drive
    client: Callable[[], Client] = ShowcaseClient
    demo: bool = True
    """Whether a demo installation can show it (not: a hub search, a server gone, no data)."""
    frame: Drive | None = None
    """Runs once everything has settled, to place what the picture shows (a scroll position):
    a late layout or focus change would otherwise move it on a slow machine."""


def screen_is(app: GpustackApp, name: str) -> Callable[[], bool]:
    """A check that the top screen's class is called `name` (screens change under us)."""
    return lambda: type(app.screen).__name__ == name


async def open_screen(app: GpustackApp, pilot: Pilot, key: str, name: str) -> None:
    """Press `key` and wait for screen class `name` on top."""
    await pilot.press(key)
    await pilot_wait_until(pilot, name, screen_is(app, name), timeout=WAIT_SECONDS)


def busy(app: GpustackApp) -> list[str]:
    """The workers (requests, searches, listings) started or about to start, not yet done."""
    unfinished = (WorkerState.PENDING, WorkerState.RUNNING)
    return [
        w.name for w in app.workers if w.state in unfinished and w.group not in LONG_LIVED_GROUPS
    ]


async def settle(app: GpustackApp, pilot: Pilot) -> None:
    """Stop every cursor blinking (visible), then wait until no worker has run for longer than
    any debounce (search 0.3 s, plan 0.4 s, path listing 0.15 s, log flush 0.1 s): the request
    of the last keystroke has then started, finished and been shown."""
    for screen in app.screen_stack:
        for widget in screen.query("Input, TextArea"):
            if isinstance(widget, (Input, TextArea)):
                widget.cursor_blink = False
    deadline = time.monotonic() + WAIT_SECONDS
    quiet_since = time.monotonic()
    while time.monotonic() - quiet_since < SETTLE_SECONDS:
        if busy(app):
            quiet_since = time.monotonic()
        if time.monotonic() > deadline:
            raise AssertionError(f"still busy after {WAIT_SECONDS:g} s: {busy(app)}")
        await pilot.pause(0.05)
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


async def loaded(app: GpustackApp, pilot: Pilot) -> None:
    """The deployments view has its first answer (data, or the reason there is none)."""
    screen = app.screen
    await pilot_wait_until(
        pilot,
        "the first fetch",
        lambda: getattr(screen, "last_update", None) is not None or getattr(screen, "failing", 0),
        timeout=WAIT_SECONDS,
    )


def select(app: GpustackApp, key: str) -> None:
    """Put the cursor of the view's table on the row `key`."""
    assert app.screen.table.select_key(key), f"no row {key}"  # type: ignore[attr-defined]


# The scenes point at rows by role, not by name, so that they run on any data: the sample
# data of the tests, or a demo installation (scripts/export_screenshots.py --demo).


def _views(app: GpustackApp) -> list[DeploymentView]:
    """The deployments the bottom view shows, by name."""
    views = app.screen_stack[0].views  # type: ignore[attr-defined]
    return [views[name] for name in sorted(views)]


def _instances(app: GpustackApp) -> list[Instance]:
    """Every instance, in table order."""
    return [
        i for v in _views(app) for i in sorted(v.instances, key=lambda i: (i.created_at, i.name))
    ]


def _troubled(app: GpustackApp) -> Instance:
    instances = _instances(app)
    for states in ({InstanceState.ERROR}, {InstanceState.UNREACHABLE}, set(InstanceState)):
        for instance in instances:
            if instance.state in states:
                return instance
    raise AssertionError("no instances to point at")


def troubled_instance(app: GpustackApp) -> str:
    """The row of the first instance in error (or unreachable, or any)."""
    return INST + _troubled(app).name


def troubled_deployment(app: GpustackApp) -> str:
    """The row of that instance's deployment."""
    return DEP + _troubled(app).deployment


def running_instance(app: GpustackApp) -> str:
    """The row of the first running instance."""
    running = [i for i in _instances(app) if i.state is InstanceState.RUNNING]
    assert running, "no running instance to point at"
    return INST + running[0].name


def deployment_row(app: GpustackApp, serving: bool) -> str:
    """The row of the first deployment that serves requests (or that does not)."""
    for view in _views(app):
        if bool(view.running) == serving:
            return DEP + view.name
    raise AssertionError(f"no deployment with serving={serving}")


# -- the scenes ---------------------------------------------------------------------------


async def deployments(app: GpustackApp, pilot: Pilot) -> None:
    """The main view, the cursor on a failing instance (its whole message below)."""
    select(app, troubled_instance(app))


async def deployments_filter(app: GpustackApp, pilot: Pilot) -> None:
    """`/` then `!chat`: every deployment but chat; `p` would show problems only."""
    await pilot.press("slash", *"!chat")
    screen = app.screen
    await pilot_wait_until(
        pilot,
        "the filter",
        lambda: "chat" in screen.query_one("TitleBar").view,
        timeout=WAIT_SECONDS,
    )


async def describe(app: GpustackApp, pilot: Pilot) -> None:
    """`d`: a deployment's spec as YAML and every instance in full."""
    select(app, troubled_deployment(app))
    await open_screen(app, pilot, "d", "DescribeScreen")


async def failures_at_top(app: GpustackApp, pilot: Pilot) -> None:
    """The describe page scrolled to its first instance: the one in error, with the current
    run's phases and its failed runs."""
    first = app.screen.query_one("#describe-instance-0")
    await scrolled_to(pilot, app.screen.query_one("#describe"), first)


async def deploy_form_invalid(app: GpustackApp, pilot: Pilot) -> None:
    """The deploy form saved with a mistake in the env box: it says where."""
    await open_screen(app, pilot, "n", "DeployFormScreen")
    form = app.screen
    form.query_one("#local_path", Input).value = "/models/qwen2.5-0.5b"
    form.query_one("#name", Input).value = "qwen-small"
    form.query_one("#command", Input).value = "python -m server --model {model_path} --port {port}"
    form.query_one("#env", TextArea).text = "HF_HUB_OFFLINE=1\nCUDA_LAUNCH_BLOCKING"
    await pilot.press("ctrl+s")
    await pilot_wait_until(
        pilot, "the error", lambda: form.query_one("#env-error").display, timeout=WAIT_SECONDS
    )
    env = form.query_one("#env", TextArea)
    await pilot_wait_until(
        pilot, "the focus on the field", lambda: env.has_focus, timeout=WAIT_SECONDS
    )


async def env_field_at_top(app: GpustackApp, pilot: Pilot) -> None:
    """The form scrolls the field into view after a refresh; how far depends on when the
    section's layout lands, so the picture puts the field at the top itself."""
    form = app.screen
    await scrolled_to(pilot, form.query_one("#form"), form.query_one("#field-env"))


async def model_search(app: GpustackApp, pilot: Pilot) -> None:
    """Searching Hugging Face as you type; enter goes to the results."""
    await open_screen(app, pilot, "m", "ModelSearchScreen")
    screen = app.screen
    await pilot.press(*"qwen3")
    await pilot_wait_until(
        pilot, "the results", lambda: "'qwen3'" in screen.status.message, timeout=WAIT_SECONDS
    )  # type: ignore[attr-defined]
    await pilot.press("enter")


async def deploy_form_plan(app: GpustackApp, pilot: Pilot) -> None:
    """The form prefilled from a search result, every section open, the plan preview beside."""
    await model_search(app, pilot)
    await pilot.press("enter")
    await pilot_wait_until(
        pilot, "the deploy form", screen_is(app, "DeployFormScreen"), timeout=WAIT_SECONDS
    )
    form = app.screen
    form.query_one("#command", Input).value = "python -m server --model {model_path} --port {port}"
    form.query_one("#replicas", Input).value = "2"
    form.query_one("#vram_claim_gib", Input).value = "12"
    for section in form.query(Collapsible):
        section.collapsed = False
    # The plan of the last change (two replicas), not of an earlier keystroke.
    await pilot_wait_until(
        pilot,
        "the plan",
        lambda: "of 2 replicas" in str(form.query_one("#plan").render()),
        timeout=WAIT_SECONDS,
    )
    form.query_one("#name", Input).focus(scroll_visible=False)
    await pilot.pause()
    form.query_one("#form").scroll_home(animate=False)


async def sections_at_top(app: GpustackApp, pilot: Pilot) -> None:
    """The form scrolled to its Performance, Scheduling and Advanced sections."""
    form = app.screen
    await scrolled_to(pilot, form.query_one("#form"), form.query_one("#performance"))


async def scrolled_to(pilot: Pilot, container: Widget, widget: Widget) -> None:
    """Scroll `container` to put `widget` at its top (as far as it scrolls), until that holds
    for a few checks in a row: the scroll position no longer moves, and the widget's first
    line is shown."""
    seen = {"scroll_y": -1.0, "checks": 0}

    def at_top() -> bool:
        # Asked again at each check: a layout still settling may undo the last scroll.
        container.scroll_to_widget(widget, top=True, animate=False)
        visible = container.scrollable_content_region
        shown = visible.y <= widget.region.y < visible.bottom  # its first line, at least
        still = container.scroll_y == seen["scroll_y"]
        seen["scroll_y"] = container.scroll_y
        seen["checks"] = seen["checks"] + 1 if shown and still else 0
        return seen["checks"] >= STEADY_CHECKS

    await pilot_wait_until(pilot, "the field at the top", at_top, timeout=WAIT_SECONDS)


async def deploy_form_edit(app: GpustackApp, pilot: Pilot) -> None:
    """`e`: the same form editing a deployment (its name fixed)."""
    select(app, deployment_row(app, serving=True))
    await open_screen(app, pilot, "e", "DeployFormScreen")
    # Away from the model path: its completion hint shows only in the focused field, and
    # whether it arrives before or after the field's focus event depends on the machine's load.
    replicas = app.screen.query_one("#replicas", Input)
    replicas.focus(scroll_visible=False)
    await pilot_wait_until(
        pilot, "the focus on replicas", lambda: replicas.has_focus, timeout=WAIT_SECONDS
    )
    app.screen.query_one("#form").scroll_home(animate=False)


async def recreate(app: GpustackApp, pilot: Pilot) -> None:
    """Saving an edit: the running instances keep the old configuration, recreate them?"""
    await deploy_form_edit(app, pilot)
    form = app.screen
    command = form.query_one("#command", Input)
    command.focus(scroll_visible=False)
    command.value = f"{command.value} --max-model-len 8192"
    await pilot.press("ctrl+s")
    await pilot_wait_until(
        pilot, "the question", screen_is(app, "RecreateModal"), timeout=WAIT_SECONDS
    )


async def workers(app: GpustackApp, pilot: Pilot) -> None:
    """The workers with live GPU meters (one simulated, one unreachable)."""
    await open_screen(app, pilot, "w", "WorkersScreen")
    screen = app.screen
    await pilot_wait_until(pilot, "the live figures", lambda: screen.stats, timeout=WAIT_SECONDS)  # type: ignore[attr-defined]


async def labels(app: GpustackApp, pilot: Pilot) -> None:
    """`e` on a worker: its labels as `key=value` pairs."""
    await workers(app, pilot)
    await open_screen(app, pilot, "e", "LabelsModal")


async def add_worker(app: GpustackApp, pilot: Pilot) -> None:
    """`a` on the workers: the SSH destination of a new worker."""
    await workers(app, pilot)
    await open_screen(app, pilot, "a", "AddWorkerModal")
    await pilot.press(*"root@10.0.0.12")


async def host_key(app: GpustackApp, pilot: Pilot) -> None:
    """Adding a worker whose host key is new: the fingerprint to compare."""
    from gpustack_tui.tui.screens.add_worker import AddWorkerRequest
    from gpustack_tui.tui.screens.workers import host_key_modal

    await workers(app, pilot)
    details = {
        "host": "[10.0.0.12]:22",
        "key_type": "ssh-ed25519",
        "fingerprint": "SHA256:q3k9bKq8xVbqPZ0d7n0Jv6pVjD1gq1fQH2x9e4i0Xy8",
    }
    app.push_screen(host_key_modal(AddWorkerRequest("root@10.0.0.12"), details))
    await pilot_wait_until(
        pilot, "the host key question", screen_is(app, "ConfirmModal"), timeout=WAIT_SECONDS
    )


async def logs(app: GpustackApp, pilot: Pilot) -> None:
    """An instance's log, followed live."""
    select(app, running_instance(app))
    await open_screen(app, pilot, "l", "LogsScreen")
    screen = app.screen
    await pilot_wait_until(
        pilot, "the log lines", lambda: screen.log_widget.lines, timeout=WAIT_SECONDS
    )  # type: ignore[attr-defined]


async def logs_search(app: GpustackApp, pilot: Pilot) -> None:
    """`/` in a log: matches highlighted, `n`/`N` go from one to the next."""
    await logs(app, pilot)
    await pilot.press("slash", *"200 17")
    await pilot.press("enter")
    screen = app.screen
    await pilot_wait_until(
        pilot, "the matches", lambda: screen.log_widget.matches, timeout=WAIT_SECONDS
    )  # type: ignore[attr-defined]


async def api_keys(app: GpustackApp, pilot: Pilot) -> None:
    """API keys: active, scoped, expired and revoked."""
    await open_screen(app, pilot, "a", "ApiKeysScreen")
    screen = app.screen
    await pilot_wait_until(pilot, "the keys", lambda: screen.last_update, timeout=WAIT_SECONDS)  # type: ignore[attr-defined]


async def usage(app: GpustackApp, pilot: Pilot) -> None:
    """Requests, latency and tokens per deployment and per key."""
    await api_keys(app, pilot)
    await open_screen(app, pilot, "u", "UsageScreen")
    screen = app.screen
    await pilot_wait_until(pilot, "the figures", lambda: screen.last_update, timeout=WAIT_SECONDS)  # type: ignore[attr-defined]


async def backends(app: GpustackApp, pilot: Pilot) -> None:
    """The built-in backends and one a user defined."""
    await open_screen(app, pilot, "b", "BackendsScreen")
    screen = app.screen
    await pilot_wait_until(
        pilot, "the user backend", lambda: screen.last_update, timeout=WAIT_SECONDS
    )  # type: ignore[attr-defined]


async def help_screen(app: GpustackApp, pilot: Pilot) -> None:
    """`?`: every key of the deployments view."""
    await open_screen(app, pilot, "question_mark", "HelpScreen")


async def scale(app: GpustackApp, pilot: Pilot) -> None:
    """`s`: a deployment's new replica count."""
    select(app, deployment_row(app, serving=True))
    await open_screen(app, pilot, "s", "ScaleModal")


async def delete_confirm(app: GpustackApp, pilot: Pilot) -> None:
    """Deleting a deployment with nothing running asks first, Cancel focused."""
    select(app, deployment_row(app, serving=False))
    await open_screen(app, pilot, "ctrl+d", "ConfirmModal")


async def delete_type_name(app: GpustackApp, pilot: Pilot) -> None:
    """Deleting a deployment that serves requests: its name must be typed."""
    key = deployment_row(app, serving=True)
    select(app, key)
    await open_screen(app, pilot, "ctrl+d", "TypeToConfirmModal")
    await pilot.press(*key.removeprefix(DEP)[:2])


async def unreachable(app: GpustackApp, pilot: Pilot) -> None:
    """The server went away: the last data stays, the status line says so."""
    screen = app.screen
    screen.refresh_now()  # type: ignore[attr-defined]
    await pilot_wait_until(pilot, "the failure", lambda: screen.failing, timeout=WAIT_SECONDS)  # type: ignore[attr-defined]


async def palette(app: GpustackApp, pilot: Pilot) -> None:
    """`:`: jump to any view, deployment, worker or instance by part of its name."""
    from textual.command import CommandList, CommandPalette

    await pilot.press("colon")
    await pilot_wait_until(
        pilot, "the palette", lambda: isinstance(app.screen, CommandPalette), timeout=WAIT_SECONDS
    )
    await pilot.press(*"emb")
    hits = app.screen.query_one(CommandList)
    await pilot_wait_until(
        pilot,
        "the matches",
        lambda: hits.option_count and not app.screen._show_busy,
        timeout=WAIT_SECONDS,
    )  # type: ignore[attr-defined]


async def empty(app: GpustackApp, pilot: Pilot) -> None:
    """A new installation: what to press first."""


SCENES = [
    Scene("deployments", deployments),
    Scene("deployments-filter", deployments_filter),
    Scene("describe", describe),
    Scene("describe-failures", describe, demo=False, frame=failures_at_top),
    Scene("deploy-form-invalid", deploy_form_invalid, frame=env_field_at_top),
    Scene("model-search", model_search, demo=False),
    Scene("deploy-form-plan", deploy_form_plan, demo=False),
    Scene("deploy-form-sections", deploy_form_plan, demo=False, frame=sections_at_top),
    Scene("deploy-form-edit", deploy_form_edit),
    Scene("recreate", recreate, demo=False),
    Scene("workers", workers),
    Scene("labels", labels),
    Scene("add-worker", add_worker),
    Scene("add-worker-host-key", host_key),
    Scene("logs", logs),
    Scene("logs-search", logs_search, demo=False),
    Scene("api-keys", api_keys),
    Scene("usage", usage, demo=False),  # a fresh demo has served no request yet
    Scene("backends", backends),
    Scene("help", help_screen),
    Scene("palette", palette),
    Scene("scale", scale),
    Scene("delete-confirm", delete_confirm, demo=False),
    Scene("delete-type-name", delete_type_name),
    Scene("server-unreachable", unreachable, UnreachableAfterFirst, False),
    Scene("empty", empty, lambda: ShowcaseClient(deployments=[], workers=[]), demo=False),
]
BY_NAME = {scene.name: scene for scene in SCENES}


def make_app(client: Client) -> GpustackApp:
    """The app as the scenes run it: no periodic refresh (each scene fetches what it shows)."""
    return GpustackApp(client, refresh_interval=None)


def run_before(scene: Scene) -> Callable[[Pilot], Awaitable[None]]:
    """What `snap_compare` runs before its picture: wait for data, drive, settle."""

    async def run(pilot: Pilot) -> None:
        app: GpustackApp = pilot.app  # type: ignore[assignment]
        await loaded(app, pilot)
        await scene.drive(app, pilot)
        await settle(app, pilot)
        if scene.frame is not None:
            await scene.frame(app, pilot)
            await pilot.pause()

    return run
