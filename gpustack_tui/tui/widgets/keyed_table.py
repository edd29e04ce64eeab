"""A DataTable refreshed in place from keyed rows, keeping the cursor on the same key."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.widgets import DataTable
from textual.widgets.data_table import ColumnKey


@dataclass(frozen=True)
class TableRow:
    """One row: a stable key (e.g. `dep:chat`), its cells, and its height in lines."""

    key: str
    cells: tuple
    height: int = 1


def _same(a: object, b: object) -> bool:
    if isinstance(a, Text) and isinstance(b, Text):
        return a.plain == b.plain and str(a.style) == str(b.style) and a.spans == b.spans
    return type(a) is type(b) and a == b


def _width(cell: object) -> int:
    text = cell.plain if isinstance(cell, Text) else str(cell)
    return max((cell_len(line) for line in text.split("\n")), default=0)


class KeyedTable(DataTable):
    """A row-cursor table whose `sync` updates only changed cells when the rows stay the same,
    and rebuilds (restoring the cursor by key) when rows come or go.

    The `flex` column (the last one, for messages) takes whatever width the others leave, so the
    table fits the terminal instead of scrolling sideways; its cells cut with an ellipsis."""

    MIN_FLEX = 12

    DEFAULT_CSS = """
    KeyedTable {
        height: 1fr;
    }
    """

    BINDINGS = [
        Binding("enter", "select_cursor", "Open the selected row", show=False),
        Binding("j", "cursor_down", "Down", show=False),
        Binding("k", "cursor_up", "Up", show=False),
        Binding("g", "scroll_top", "Top", show=False),
        Binding("G", "scroll_bottom", "Bottom", show=False),
    ]

    def __init__(
        self,
        columns: Sequence[tuple[str, str]],
        *,
        flex: str | None = None,
        id: str | None = None,
    ) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._column_spec = list(columns)
        self._flex = flex
        self._rows: list[TableRow] = []

    def on_mount(self) -> None:
        """Create the columns."""
        for key, label in self._column_spec:
            if key == self._flex:
                self.add_column(label, key=key, width=self.MIN_FLEX)
            else:
                self.add_column(label, key=key)

    def on_resize(self, event: events.Resize) -> None:
        """Give the flexible column the new width."""
        self.fit_flex()

    def fit_flex(self) -> None:
        """Size the flexible column to the width the other columns leave."""
        if self._flex is None or self._flex not in self.columns:
            return
        padding = 2 * self.cell_padding
        used = 0
        for n, (key, label) in enumerate(self._column_spec):
            if key != self._flex:
                cells = [_width(row.cells[n]) for row in self._rows]
                used += max([cell_len(label), *cells]) + padding
        scrollbar = self.styles.scrollbar_size_vertical
        available = max(self.MIN_FLEX, self.size.width - scrollbar - used - padding)
        column = self.columns[ColumnKey(self._flex)]
        if column.width != available:
            column.width = available
            # DataTable has no public call for a column's new width: redo its layout.
            self._require_update_dimensions = True
            self._clear_caches()

    @property
    def row_keys(self) -> list[str]:
        """The keys in display order."""
        return [r.key for r in self._rows]

    @property
    def cursor_key(self) -> str | None:
        """The key of the row under the cursor, or None when the table is empty."""
        if not self._rows or not self.is_valid_row_index(self.cursor_row):
            return None
        return self.coordinate_to_cell_key(self.cursor_coordinate).row_key.value

    def select_key(self, key: str) -> bool:
        """Move the cursor to `key`; False if no such row."""
        if key not in self.row_keys:
            return False
        self.move_cursor(row=self.get_row_index(key))
        return True

    def sync(
        self,
        rows: Sequence[TableRow],
        fallback: Callable[[str], str | None] | None = None,
    ) -> None:
        """Show `rows`. The cursor stays on its key; if that row went, on `fallback(key)`,
        else on the same position."""
        rows = list(rows)
        old_key, old_index = self.cursor_key, self.cursor_row
        same_shape = [(r.key, r.height) for r in rows] == [(r.key, r.height) for r in self._rows]
        if same_shape:
            column_keys = [key for key, _ in self._column_spec]
            for old, new in zip(self._rows, rows, strict=True):
                for column, a, b in zip(column_keys, old.cells, new.cells, strict=True):
                    if not _same(a, b):
                        self.update_cell(new.key, column, b, update_width=True)
            self._rows = rows
            self.fit_flex()
            return
        self.clear()
        for row in rows:
            self.add_row(*row.cells, key=row.key, height=row.height)
        self._rows = rows
        self.fit_flex()
        keys = self.row_keys
        if not keys:
            return
        target = old_key
        if target not in keys and fallback is not None and old_key is not None:
            target = fallback(old_key)
        if target in keys:
            self.move_cursor(row=keys.index(target), animate=False)
        else:
            self.move_cursor(row=min(old_index, len(keys) - 1), animate=False)
