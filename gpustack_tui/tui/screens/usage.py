"""Usage of the inference routes since the server started: per deployment and per API key."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import Label

from gpustack_tui.tui.presentation import one_line
from gpustack_tui.tui.screens.base import ServerScreen
from gpustack_tui.tui.widgets.key_footer import KeyFooter
from gpustack_tui.tui.widgets.keyed_table import KeyedTable, TableRow
from gpustack_tui.tui.widgets.status_line import StatusLine
from gpustack_tui.tui.widgets.title_bar import TitleBar

FIGURES = (
    ("requests", "REQS"),
    ("errors", "ERRORS"),
    ("p50", "P50"),
    ("p90", "P90"),
    ("p99", "P99"),
    ("prompt", "PROMPT"),
    ("completion", "COMPL"),
    ("total", "TOTAL"),
)
"""Short headings, so that 80 columns hold them all; the section labels give the units."""
UNITS = "latency in ms, tokens from the answers' usage"


def _ms(value: object) -> str:
    return f"{value:.1f}" if isinstance(value, (int, float)) else "-"


def _int(value: object) -> str:
    return str(value) if isinstance(value, int) else "-"


def usage_rows(rows: Iterable[object], by: str) -> list[TableRow]:
    """One table row per usage row, named by its `by` field (deployment or key); what is not
    a JSON object is skipped."""
    return [
        TableRow(
            f"{by}:{row.get(by)}",
            (
                one_line(str(row.get(by, "?"))),
                _int(row.get("requests")),
                _int(row.get("errors")),
                _ms(row.get("p50_ms")),
                _ms(row.get("p90_ms")),
                _ms(row.get("p99_ms")),
                _int(row.get("prompt_tokens")),
                _int(row.get("completion_tokens")),
                _int(row.get("total_tokens")),
            ),
        )
        for row in rows
        if isinstance(row, dict)
    ]


class UsageScreen(ServerScreen):
    """Two tables: per deployment and per key; counted in the server's memory."""

    BINDINGS = [
        Binding("r", "refresh", "Refresh", id="usage.refresh"),
        Binding("escape", "back", "Back", id="back"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    DEFAULT_CSS = """
    UsageScreen KeyedTable {
        height: 1fr;
    }
    UsageScreen Label {
        margin-top: 1;
        text-style: bold;
    }
    """

    def compose(self) -> ComposeResult:
        """Title, the two tables, status line, key hints."""
        yield TitleBar("Usage", self.client.base_url)
        yield Label(f"Per deployment ({UNITS})")
        yield KeyedTable((("deployment", "DEPLOYMENT"), *FIGURES), id="by-deployment")
        yield Label(f"Per API key ({UNITS})")
        yield KeyedTable((("key", "KEY"), *FIGURES), id="by-key")
        yield StatusLine(id="status")
        yield KeyFooter()

    def fetch(self) -> dict[str, Any]:
        """The server's usage figures (thread)."""
        return self.client.usage()

    def show_data(self, data: dict[str, Any]) -> None:
        """Fill both tables."""
        deployments = data.get("deployments") or []
        self.query_one("#by-deployment", KeyedTable).sync(usage_rows(deployments, "deployment"))
        self.query_one("#by-key", KeyedTable).sync(usage_rows(data.get("keys") or [], "key"))
        self.query_one(TitleBar).set_view(f"Usage[{len(deployments)}]")
        if not deployments and not self.failing and not self.status.message:
            self.status.show("no inference requests since the server started")
