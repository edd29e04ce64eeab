"""`:`: the command palette as a k9s-style jump list.

Type part of a view, deployment, worker or instance name; Enter goes there. Views that only
show data are closed on the way (esc would have closed them anyway); a form or a question on
top is never closed behind the user's back: the new view opens over it instead.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from textual.command import DiscoveryHit, Hit, Hits, Provider
from textual.screen import Screen

from gpustack_tui.tui.screens.base import ServerScreen
from gpustack_tui.tui.screens.deployments import DeploymentsScreen
from gpustack_tui.tui.screens.describe import DescribeScreen
from gpustack_tui.tui.screens.help import HelpScreen
from gpustack_tui.tui.screens.logs import LogsScreen

if TYPE_CHECKING:
    from gpustack_tui.tui.app import GpustackApp

WORKERS_TIMEOUT = 2.0
"""How long the palette waits for the worker list before offering what it has."""

SELECT_TRIES = 50
"""How many times (every 0.1 s) a jump waits for its row to arrive in a freshly opened view."""


def _closable(screen: Screen) -> bool:
    """Views that only show server data: closing them loses nothing."""
    return isinstance(screen, ServerScreen | LogsScreen | DescribeScreen | HelpScreen)


def unwind(app: GpustackApp) -> DeploymentsScreen | None:
    """Close read-only views down to the deployments view; None if a form or modal is in the
    way (then it stays, and the caller opens its view on top)."""
    while len(app.screen_stack) > 1 and _closable(app.screen):
        app.pop_screen()
    screen = app.screen_stack[-1]
    return screen if isinstance(screen, DeploymentsScreen) else None


def open_view(app: GpustackApp, name: str, *args: Any) -> Screen[Any]:
    """Open the view registered as `name` from the deployments view (or over a form that is in
    the way)."""
    unwind(app)
    return app.open_screen(name, *args)


def select_when_shown(app: GpustackApp, screen: Screen, key: str) -> None:
    """Put `screen`'s cursor on `key` as soon as its first fetch brings that row."""
    tries = {"left": SELECT_TRIES}

    def attempt() -> None:
        tries["left"] -= 1
        table = getattr(screen, "table", None) if screen.is_mounted else None
        done = table is not None and table.select_key(key)
        if done or tries["left"] <= 0 or screen not in app.screen_stack:
            timer.stop()

    timer = app.set_interval(0.1, attempt)


def jump_to_deployment(app: GpustackApp, name: str) -> None:
    """The deployments view with the cursor on `name` (a filter hiding it is cleared)."""
    base = unwind(app)
    if base is None:
        app.notify("close the form or question on top first (escape), then : again")
        return
    if not base.show_deployment(name):
        app.notify(f"deployment {name} is gone", severity="warning", markup=False)


def jump_to_worker(app: GpustackApp, name: str) -> None:
    """The workers view with the cursor on `name`."""
    screen = open_view(app, "workers")
    select_when_shown(app, screen, f"worker:{name}")


def jump_to_logs(app: GpustackApp, instance: str, deployment: str) -> None:
    """The log of `instance`."""
    open_view(app, "logs", instance, deployment)


def _views(app: GpustackApp) -> list[tuple[str, Callable[[], object], str]]:
    def deployments() -> None:
        if unwind(app) is None:
            app.notify("close the form or question on top first (escape), then : again")

    return [
        ("deployments", deployments, "view: every deployment and its instances"),
        ("workers", partial(open_view, app, "workers"), "view: workers and their GPUs"),
        ("api keys", partial(open_view, app, "api-keys"), "view: keys for /v1"),
        ("usage", partial(open_view, app, "usage"), "view: requests and tokens per key"),
    ]


class JumpProvider(Provider):
    """Views, deployments (from the deployments view), instances' logs and workers (asked from
    the server when the palette opens, for at most `WORKERS_TIMEOUT` seconds), then Textual's
    system commands."""

    async def startup(self) -> None:
        """Collect the targets once per opening of the palette."""
        app: GpustackApp = self.app  # type: ignore[assignment]
        self.targets: list[tuple[str, Callable[[], object], str]] = list(_views(app))
        base = app.screen_stack[0] if app.screen_stack else None
        views = base.views.values() if isinstance(base, DeploymentsScreen) else []
        workers: set[str] = set()
        for view in sorted(views, key=lambda v: v.name):
            help_text = f"deployment: {view.spec.backend}, {view.running}/{view.spec.replicas}"
            jump = partial(jump_to_deployment, app, view.name)
            self.targets.append((f"deployment {view.name}", jump, help_text))
            for instance in sorted(view.instances, key=lambda i: i.name):
                logs = partial(jump_to_logs, app, instance.name, view.name)
                what = f"log of {instance.state.value} instance of {view.name}"
                self.targets.append((f"logs {instance.name}", logs, what))
                if instance.worker:
                    workers.add(instance.worker)
        try:
            listed = await asyncio.wait_for(
                asyncio.to_thread(app.client.list_workers), WORKERS_TIMEOUT
            )
            workers |= {w.name for w in listed}
        except Exception:  # the palette still offers everything else
            pass
        for name in sorted(workers):
            jump = partial(jump_to_worker, app, name)
            self.targets.append((f"worker {name}", jump, "worker: its GPUs and labels"))
        # Textual's own commands (theme, keys, screenshot, quit) after ours, in one list.
        for command in app.get_system_commands(self.screen):
            self.targets.append((command.title, command.callback, command.help))

    async def discover(self) -> Hits:
        """Everything, before anything is typed."""
        for text, command, help_text in self.targets:
            yield DiscoveryHit(text, command, text=text, help=help_text)

    async def search(self, query: str) -> Hits:
        """Fuzzy match on the names."""
        matcher = self.matcher(query)
        for text, command, help_text in self.targets:
            score = matcher.match(text)
            if score > 0:
                yield Hit(score, matcher.highlight(text), command, text=text, help=help_text)
