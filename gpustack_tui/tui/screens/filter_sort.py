"""The `/` filter, `o` sort and `p` problems-only keys of the deployments view, as a mixin.

Kept apart from the view's other actions so each module stays small; the view supplies the
table, the status line, the `#filter` line, `query_state` and `show_rows` (`FilterSortView`).
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Protocol, TypeVar

from textual.widget import Widget

from gpustack_tui.tui.deployment_query import Query
from gpustack_tui.tui.widgets.filter_bar import FilterBar

if TYPE_CHECKING:
    from gpustack_tui.tui.widgets.keyed_table import KeyedTable
    from gpustack_tui.tui.widgets.status_line import StatusLine

_W = TypeVar("_W", bound=Widget)


class FilterSortView(Protocol):
    """What a view that takes FilterSortMixin has: a screen with these parts."""

    query_state: Query

    @property
    def table(self) -> KeyedTable:
        """The deployments table."""
        ...

    @property
    def status(self) -> StatusLine:
        """The view's status line."""
        ...

    def query_one(self, selector: str, expect_type: type[_W]) -> _W:
        """The widget that `selector` names (Textual's DOMNode.query_one)."""
        ...

    def show_rows(self) -> None:
        """Show the rows again, for the current `query_state`."""
        ...


def filter_bar(view: FilterSortView) -> FilterBar:
    """The view's `/` line."""
    return view.query_one("#filter", FilterBar)


def set_query(view: FilterSortView, query: Query) -> None:
    """Apply a new filter, sort or problems-only; the cursor stays on its row if shown."""
    view.query_state = query
    view.show_rows()


def clear_query(view: FilterSortView) -> None:
    """No filter text, line closed, problems-only off."""
    bar = filter_bar(view)
    bar.value = ""
    bar.close()
    set_query(view, replace(view.query_state, text="", problems_only=False))


class FilterSortMixin:
    """Filter line, sort cycle and problems-only toggle for a view of deployments.

    Its methods take the view as `self: FilterSortView`: mypy checks that a screen mixing it in
    supplies what they use wherever it calls one of them.
    """

    def action_filter(self: FilterSortView) -> None:
        """Open the filter line (keeping the current filter to edit)."""
        filter_bar(self).open()

    def on_filter_bar_applied(self: FilterSortView, message: FilterBar.Applied) -> None:
        """Re-filter as the user types."""
        message.stop()
        set_query(self, replace(self.query_state, text=message.text))

    def on_filter_bar_done(self: FilterSortView, message: FilterBar.Done) -> None:
        """Back to the table, the filter kept (or cleared by escape)."""
        message.stop()
        self.table.focus()

    def action_sort(self: FilterSortView) -> None:
        """Cycle the order: name, state (worst first), age (newest first), replicas."""
        set_query(self, replace(self.query_state, sort=self.query_state.next_sort()))
        self.status.show(f"sorted by {self.query_state.sort} (o: next order)")

    def action_problems(self: FilterSortView) -> None:
        """Toggle showing only deployments with a failing, lost, held or missing replica."""
        problems_only = not self.query_state.problems_only
        set_query(self, replace(self.query_state, problems_only=problems_only))
        state = "on: only deployments with problems" if self.query_state.problems_only else "off"
        self.status.show(f"problems only {state} (p toggles)")

    def action_clear_filter(self: FilterSortView) -> None:
        """Escape on the table: drop the filter and problems-only (the sort stays)."""
        if self.query_state != Query(sort=self.query_state.sort):
            clear_query(self)

    def clear_query(self: FilterSortView) -> None:
        """No filter text, line closed, problems-only off."""
        clear_query(self)
