"""After an edit: running instances keep the old configuration; offer to recreate them.

The server applies a new spec to new instances only (replicas at once). When the edit changed
more than the replica count and instances are running, the operator is told so and offered a
rolling recreate (Cancel focused). Rolling: one old instance is deleted, the reconciler places
its replacement with the new configuration, and the next old one is deleted only once the
replacements run; a replacement in error, or one not running within `WAIT_SECONDS`, stops the
roll with the remaining old instances still serving. It runs in an app-level thread worker, so
it goes on after the form has closed, and reports through notifications.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from textual.app import App
from textual.notifications import SeverityLevel

from gpustack_tui.client import ApiError, Client
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.instance import InstanceState
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.tui.screens.confirm import ConfirmModal

KEEPING = {
    InstanceState.RUNNING,
    InstanceState.STARTING,
    InstanceState.DOWNLOADING,
    InstanceState.UNREACHABLE,
}
"""States of an instance whose program was started from the old spec (an instance in error is
restarted from the new one; pending and scheduled ones have not started yet)."""
WAIT_SECONDS = 600.0
POLL_SECONDS = 1.0


def config_changed(before: DeploymentSpec, after: DeploymentSpec) -> bool:
    """Whether the edit changed more than the replica count (the order GPUs were picked in
    is no change)."""

    def normal(spec: DeploymentSpec) -> DeploymentSpec:
        copy = spec.model_copy(deep=True, update={"replicas": 0})
        copy.scheduling.gpu_selector.sort()
        return copy

    return normal(before) != normal(after)


def keeping_old(before: DeploymentSpec, view: DeploymentView) -> list[str]:
    """The instances that still run the configuration before the edit (oldest first)."""
    if view.spec.replicas == 0 or not config_changed(before, view.spec):
        return []
    kept = sorted((i for i in view.instances if i.state in KEEPING), key=lambda i: i.created_at)
    return [i.name for i in kept]


def keep_message(name: str, count: int) -> str:
    """What an edit leaves running."""
    return (
        f"Saved {name}. Its {count} running instance(s) keep the old configuration until they "
        "are recreated; new instances get the new one."
    )


class RecreateModal(ConfirmModal):
    """Asks whether to recreate the instances that keep the old configuration now."""

    def __init__(self, name: str, instances: list[str]) -> None:
        listing = ", ".join(instances)
        super().__init__(
            f"Recreate the running instances of {name}?",
            f"{keep_message(name, len(instances))}\n\nRecreate replaces them one at a time: "
            f"each is deleted once the previous replacement runs ({listing}).",
            confirm_label="Recreate",
        )


def recreate_rolling(
    client: Client,
    name: str,
    old: list[str],
    say: Callable[[str, SeverityLevel], None],
    wait_seconds: float = WAIT_SECONDS,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """Delete the `old` instances of `name` one by one, each after the replacements of the ones
    before it run; `say(text, severity)` reports. True when every one was replaced."""
    old_set = set(old)
    for number, instance in enumerate(old, start=1):
        try:
            client.delete_instance(instance)
        except ApiError as exc:
            if exc.status != 404:  # 404: gone already (scaled down, or deleted by hand)
                say(f"recreating {name} stopped: {exc.message}", "error")
                return False
        say(f"recreating {name}: deleted {instance} ({number} of {len(old)})", "information")
        deadline = time.monotonic() + wait_seconds
        while True:
            try:
                view = client.get_deployment(name)
            except ApiError as exc:
                say(f"recreating {name} stopped: {exc.message}", "error")
                return False
            fresh = [i for i in view.instances if i.name not in old_set]
            running = sum(1 for i in fresh if i.state is InstanceState.RUNNING)
            if running >= min(number, view.spec.replicas):
                break
            failed = [i for i in fresh if i.state is InstanceState.ERROR]
            left = len(old) - number
            if failed or time.monotonic() > deadline:
                why = (
                    f"replacement {failed[0].name} is in error: {failed[0].state_message}"
                    if failed
                    else f"no replacement ran within {wait_seconds:g} s"
                )
                say(
                    f"recreating {name} stopped: {why}; {left} old instance(s) keep running",
                    "error",
                )
                return False
            sleep(POLL_SECONDS)
    say(f"recreated {len(old)} instance(s) of {name}: all run the new configuration", "information")
    return True


def offer_recreate(
    app: App,
    client: Client,
    before: DeploymentSpec,
    view: DeploymentView,
    done: Callable[[], object],
) -> None:
    """Say what the edit left running and ask whether to recreate it (no question when the
    edit changed only replicas, or nothing runs); then `done()` (the form closes)."""
    old = keeping_old(before, view)
    if not old:
        app.notify(f"saved {view.name}", title="Saved")
        done()
        return

    def say(text: str, severity: SeverityLevel) -> None:
        app.call_from_thread(app.notify, text, severity=severity, timeout=8)

    def answered(recreate: bool | None) -> None:
        done()
        if not recreate:
            app.notify(
                f"{keep_message(view.name, len(old))} Delete an instance (ctrl+d on its row) to "
                "recreate it later.",
                title="Kept",
                timeout=10,
            )
            return
        app.run_worker(
            lambda: recreate_rolling(client, view.name, old, say),
            name=f"recreate {view.name}",
            group="recreate",
            thread=True,
            exit_on_error=False,
        )

    app.push_screen(RecreateModal(view.name, old), answered)
