"""The `/` filter, `o` sort and `p` problems-only keys of the deployments view, as a mixin.

Kept apart from the view's other actions so each module stays small; the view supplies the
table, the status line, `query_state` and `show_rows`.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from gpustack_tui.tui.deployment_query import Query
from gpustack_tui.tui.widgets.filter_bar import FilterBar

if TYPE_CHECKING:
    from gpustack_tui.tui.widgets.keyed_table import KeyedTable
    from gpustack_tui.tui.widgets.status_line import StatusLine


class FilterSortMixin:
    """Filter line, sort cycle and problems-only toggle for a view of deployments."""

    query_state: Query
    table: KeyedTable
    status: StatusLine

    if TYPE_CHECKING:

        def query_one(self, selector: str, expect_type: type[FilterBar]) -> FilterBar: ...

        def show_rows(self) -> None: ...

    @property
    def filter_bar(self) -> FilterBar:
        """The `/` line."""
        return self.query_one("#filter", FilterBar)

    def action_filter(self) -> None:
        """Open the filter line (keeping the current filter to edit)."""
        self.filter_bar.open()

    def on_filter_bar_applied(self, message: FilterBar.Applied) -> None:
        """Re-filter as the user types."""
        message.stop()
        self.set_query(text=message.text)

    def on_filter_bar_done(self, message: FilterBar.Done) -> None:
        """Back to the table, the filter kept (or cleared by escape)."""
        message.stop()
        self.table.focus()

    def action_sort(self) -> None:
        """Cycle the order: name, state (worst first), age (newest first), replicas."""
        self.set_query(sort=self.query_state.next_sort())
        self.status.show(f"sorted by {self.query_state.sort} (o: next order)")

    def action_problems(self) -> None:
        """Toggle showing only deployments with a failing, lost, held or missing replica."""
        self.set_query(problems_only=not self.query_state.problems_only)
        state = "on: only deployments with problems" if self.query_state.problems_only else "off"
        self.status.show(f"problems only {state} (p toggles)")

    def action_clear_filter(self) -> None:
        """Escape on the table: drop the filter and problems-only (the sort stays)."""
        if self.query_state != Query(sort=self.query_state.sort):
            self.clear_query()

    def clear_query(self) -> None:
        """No filter text, line closed, problems-only off."""
        self.filter_bar.value = ""
        self.filter_bar.close()
        self.set_query(text="", problems_only=False)

    def set_query(self, **changes: object) -> None:
        """Apply a new filter, sort or problems-only; the cursor stays on its row if shown."""
        self.query_state = replace(self.query_state, **changes)  # type: ignore[arg-type]
        self.show_rows()
