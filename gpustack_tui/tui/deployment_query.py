"""Which deployments the table shows, in what order: the `/` filter, the sort and problems-only.

Pure functions over `DeploymentView`s, so the rules are tested without a terminal. A deployment
is shown or hidden as a whole, with all its instance rows: a filter on a worker or a reason
finds the deployment that has such an instance.
"""

from __future__ import annotations

from dataclasses import dataclass

from gpustack_tui.domain.instance import InstanceState
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.tui.presentation import STATE_SEVERITY

SORTS = ("name", "state", "age", "replicas")
"""The orders `o` cycles through, first is the default."""


def severity(view: DeploymentView) -> int:
    """0 for the worst (an instance in error) up to len(STATE_SEVERITY) for all running or none."""
    ranks = [STATE_SEVERITY.index(i.state) for i in view.instances]
    worst = min(ranks, default=len(STATE_SEVERITY))
    if worst >= STATE_SEVERITY.index(InstanceState.RUNNING) and view.running < view.spec.replicas:
        # Short of replicas is worse than all running, better than anything failing.
        return STATE_SEVERITY.index(InstanceState.STARTING)
    return worst


def has_problem(view: DeploymentView) -> bool:
    """An instance in error or unreachable, pending with a reason, or fewer running than wanted."""
    for instance in view.instances:
        if instance.state in (InstanceState.ERROR, InstanceState.UNREACHABLE):
            return True
        if instance.state is InstanceState.PENDING and instance.state_message.strip():
            return True
    return view.running < view.spec.replicas


def haystack(view: DeploymentView) -> str:
    """Everything the filter looks in, lower case: name, backend, workers, states, reasons."""
    parts = [view.name, view.spec.backend, view.spec.source.value]
    for instance in view.instances:
        parts += [instance.name, instance.worker or "", instance.state.value]
        parts.append(instance.state_message)
    return "\n".join(parts).lower()


@dataclass(frozen=True)
class Query:
    """The table's view of the deployments: filter text (`!x` inverts), sort, problems only."""

    text: str = ""
    sort: str = SORTS[0]
    problems_only: bool = False

    @property
    def inverted(self) -> bool:
        """Whether the filter hides matches instead of showing them (`!term`)."""
        return self.text.startswith("!")

    @property
    def term(self) -> str:
        """The filter text without its `!`, trimmed and lower case."""
        return self.text.removeprefix("!").strip().lower()

    def matches(self, view: DeploymentView) -> bool:
        """Whether `view` is shown."""
        if self.problems_only and not has_problem(view):
            return False
        if not self.term:
            return True
        return (self.term in haystack(view)) != self.inverted

    def apply(self, views: list[DeploymentView]) -> list[DeploymentView]:
        """The shown deployments in display order."""
        shown = [v for v in views if self.matches(v)]
        by_name = sorted(shown, key=lambda v: v.name)
        if self.sort == "state":
            return sorted(by_name, key=severity)
        if self.sort == "age":
            return sorted(by_name, key=lambda v: v.created_at, reverse=True)
        if self.sort == "replicas":
            return sorted(by_name, key=lambda v: v.spec.replicas, reverse=True)
        return by_name

    def next_sort(self) -> str:
        """The order after this one (wrapping round)."""
        return SORTS[(SORTS.index(self.sort) + 1) % len(SORTS)]

    def describe(self) -> str:
        """What the title shows: `sort:state problems /!gpu-c` (empty parts left out)."""
        parts = [f"sort:{self.sort}"]
        if self.problems_only:
            parts.append("problems")
        if self.text.strip():
            parts.append(f"/{self.text.strip()}")
        return " ".join(parts)
