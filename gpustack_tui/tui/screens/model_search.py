"""Model search: find a model on Hugging Face or ModelScope (or give a local path) and open the
deploy form prefilled with it.

Search runs as you type: each keystroke restarts a short timer, and only when typing pauses
does a search start, in an exclusive thread worker (a newer search cancels the older one, and
an answer to an older search is dropped by its sequence number). Keys are never held up.
"""

from __future__ import annotations

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.timer import Timer
from textual.widgets import DataTable, Input, RadioSet
from textual.worker import Worker

from gpustack_tui.client import ApiError
from gpustack_tui.domain.model import SearchHit
from gpustack_tui.domain.text import sanitize_terminal_text
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.sources.categories import PIPELINE_TAGS
from gpustack_tui.tui.forms import DeployFormValues, name_from_repo
from gpustack_tui.tui.messages import as_api_error
from gpustack_tui.tui.screens.base import ClientScreen
from gpustack_tui.tui.widgets.form_field import choices, chosen, form_field
from gpustack_tui.tui.widgets.key_footer import KeyFooter
from gpustack_tui.tui.widgets.keyed_table import KeyedTable, TableRow
from gpustack_tui.tui.widgets.path_input import PathInput
from gpustack_tui.tui.widgets.status_line import StatusLine
from gpustack_tui.tui.widgets.title_bar import TitleBar

SEARCH_DELAY = 0.3
MIN_QUERY = 2
SOURCES = (
    ("huggingface", "Hugging Face", ""),
    ("modelscope", "ModelScope", ""),
    ("local_path", "Local path", ""),
)
SOURCE_NAMES = {key: label for key, label, _ in SOURCES}
COLUMNS = (
    ("model", "MODEL"),
    ("downloads", "DOWNLOADS"),
    ("likes", "LIKES"),
    ("updated", "UPDATED"),
    ("category", "CATEGORY"),
)
WHAT_TO_DO = {
    "network": "check the head node's network or its HTTPS_PROXY, then type again",
    "unauthorized": "set HF_TOKEN (or MODELSCOPE_API_TOKEN) where the server runs",
    "gated": "accept the model's licence on the hub and set HF_TOKEN where the server runs",
}


class SearchResults(Message):
    """A search finished: the hits, or the error; `seq` tells whether it is still wanted."""

    def __init__(
        self, seq: int, query: str, hits: list[SearchHit], error: ApiError | None = None
    ) -> None:
        super().__init__()
        self.seq = seq
        self.query = query
        self.hits = hits
        self.error = error


def category_of(hit: SearchHit) -> str:
    """The deploy form's category for a hub's pipeline tag ("auto" when unknown)."""
    if hit.pipeline_tag in PIPELINE_TAGS:
        return PIPELINE_TAGS[hit.pipeline_tag].value
    return "llm" if hit.pipeline_tag == "text-generation" else "auto"


def short_count(value: int) -> str:
    """4200000 -> '4.2M', 12300 -> '12.3k'."""
    for size, suffix in ((1_000_000, "M"), (1_000, "k")):
        if value >= size:
            return f"{value / size:.1f}{suffix}"
    return str(value)


def hit_row(hit: SearchHit) -> TableRow:
    """One result: the model (marked when gated or private), its figures and its tag."""
    model = Text(sanitize_terminal_text(hit.model_id))
    if hit.gated:
        model.append(" (gated)", style="yellow")
    if hit.private:
        model.append(" (private)", style="yellow")
    cells = (
        model,
        Text(short_count(hit.downloads), justify="right"),
        Text(short_count(hit.likes), justify="right"),
        (hit.last_modified or "")[:10],
        Text(sanitize_terminal_text(hit.pipeline_tag or "—"), style="cyan"),
    )
    return TableRow(hit.model_id, cells)


class ModelSearchScreen(ClientScreen):
    """Dismisses with the `DeploymentView` created from a result, or None."""

    BINDINGS = [
        Binding("escape", "back", "Back", id="back"),
        Binding("ctrl+f", "focus_query", "Search field", id="search.focus"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.hits: dict[str, SearchHit] = {}
        self.search_seq = 0
        self.shown_query: str | None = None
        self.search_worker: Worker | None = None
        self._timer: Timer | None = None

    def compose(self) -> ComposeResult:
        """Source, query (or path), results, status."""
        yield TitleBar("Model search", self.client.base_url)
        yield form_field("source", "Source", choices("source", SOURCES))
        yield form_field(
            "query", "Search",
            Input(id="query", compact=True, placeholder="type a model name, e.g. qwen3"),
            "results come as you type; ↓ moves to them, enter opens the deploy form",
        )  # fmt: skip
        yield form_field(
            "path", "Model path",
            PathInput(input_id="path", placeholder="/models/Qwen3-0.6B"),
            "a directory or .gguf file on the workers; completions come from the server or "
            "the worker chosen beside the path; enter opens the deploy form",
        )  # fmt: skip
        with Horizontal(id="results-box"):
            yield KeyedTable(COLUMNS, flex="category", id="results")
        yield StatusLine("type to search the hub", id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        """Start in the search field."""
        self.apply_source()
        self.query_one("#query", Input).focus()

    @property
    def source(self) -> str:
        """huggingface, modelscope or local_path."""
        return chosen(self.query_one("#source", RadioSet), "huggingface")

    @property
    def table(self) -> KeyedTable:
        """The results."""
        return self.query_one("#results", KeyedTable)

    def apply_source(self) -> None:
        """Local path: the path field; a hub: the search field and the results."""
        local = self.source == "local_path"
        self.query_one("#field-path").display = local
        self.query_one("#field-query").display = not local
        self.query_one("#results-box").display = not local

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        """Another source: search it for the same words."""
        event.stop()
        self.apply_source()
        if self.source == "local_path":
            self.query_one("#path", Input).focus()
            return
        self.table.sync([])
        self.shown_query = None
        self.schedule_search()

    # -- searching --------------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        """A keystroke in the search field restarts the timer."""
        if event.input.id == "query":
            event.stop()
            self.schedule_search()

    def schedule_search(self) -> None:
        """Search once typing pauses for SEARCH_DELAY."""
        if self._timer is not None:
            self._timer.stop()
        self._timer = self.set_timer(SEARCH_DELAY, self.start_search)

    def start_search(self) -> None:
        """Search the chosen hub for the query as it is now (superseding any search)."""
        if self._timer is not None:
            self._timer.stop()
            self._timer = None
        query = self.query_one("#query", Input).value.strip()
        self.search_seq += 1
        if len(query) < MIN_QUERY:
            self.workers.cancel_group(self, "search")
            self.table.sync([])
            self.status.show(f"type at least {MIN_QUERY} characters to search")
            return
        self.status.show(f"searching {SOURCE_NAMES[self.source]} for {query!r}…")
        self.search_worker = self._search(self.search_seq, self.source, query)

    @work(thread=True, exclusive=True, exit_on_error=False, group="search")
    def _search(self, seq: int, source: str, query: str) -> None:
        try:
            hits = self.client.search_models(query, source=source, limit=30)
        except Exception as exc:
            self.post_message(SearchResults(seq, query, [], as_api_error(exc)))
        else:
            self.post_message(SearchResults(seq, query, hits))

    def on_search_results(self, message: SearchResults) -> None:
        """Show the newest search's results; older answers are dropped."""
        message.stop()
        if message.seq != self.search_seq:
            return
        where = SOURCE_NAMES[self.source]
        if message.error is not None:
            hint = WHAT_TO_DO.get(message.error.code, "")
            self.status.error(
                f"searching {where} failed: {message.error.message}"
                + (f" ({hint})" if hint else "")
            )
            return
        self.shown_query = message.query
        self.hits = {hit.model_id: hit for hit in message.hits}
        self.table.sync([hit_row(hit) for hit in message.hits])
        if message.hits:
            self.status.show(
                f"{len(message.hits)} models on {where} match {message.query!r}: "
                "enter opens the deploy form"
            )
        else:
            self.status.show(f"no model on {where} matches {message.query!r}", "warning")

    # -- picking ----------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter in the search field goes to the results; in the path field, to the form."""
        event.stop()
        if event.input.id == "path":
            self.open_local(event.value.strip())
        elif self.table.row_count:
            self.table.focus()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a result opens the deploy form with it."""
        event.stop()
        key = self.table.cursor_key
        hit = self.hits.get(key or "")
        if hit is not None:
            self.open_hit(hit)

    def open_hit(self, hit: SearchHit) -> None:
        """The deploy form, prefilled from a hub result."""
        if hit.gated:
            self.status.show(
                f"{hit.model_id} is gated: {WHAT_TO_DO['gated']}, or its download fails",
                "warning",
            )
        values = DeployFormValues(
            source=self.source,
            repo_id=hit.model_id,
            name=name_from_repo(hit.model_id),
            category=category_of(hit),
        )
        self.gs_app.open_screen("deploy-form", values, callback=self._deployed)

    def open_local(self, path: str) -> None:
        """The deploy form, prefilled with a local path."""
        if not path:
            self.status.error("type the model's path on the workers first")
            return
        values = DeployFormValues(local_path=path, name=name_from_repo(path))
        self.gs_app.open_screen("deploy-form", values, callback=self._deployed)

    def _deployed(self, view: DeploymentView | None) -> None:
        if view is not None:
            self.dismiss(view)

    def action_focus_query(self) -> None:
        """Back to the search (or path) field."""
        self.query_one("#path" if self.source == "local_path" else "#query", Input).focus()

    def action_back(self) -> None:
        """Back to the deployments."""
        self.dismiss(None)
