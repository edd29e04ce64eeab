"""Workers: the machines that run instances, their GPUs, and adding or removing one."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from gpustack_tui.domain.worker import Worker
from gpustack_tui.tui.messages import RequestFailed
from gpustack_tui.tui.presentation import (
    WORKER_COLUMNS,
    worker_cells,
    worker_detail,
    worker_row_height,
)
from gpustack_tui.tui.screens.add_worker import AddWorkerModal, AddWorkerRequest
from gpustack_tui.tui.screens.base import ServerScreen
from gpustack_tui.tui.screens.confirm import ConfirmModal
from gpustack_tui.tui.screens.labels import LabelsModal
from gpustack_tui.tui.widgets.keyed_table import KeyedTable, TableRow
from gpustack_tui.tui.widgets.status_line import StatusLine
from gpustack_tui.tui.widgets.title_bar import TitleBar

HOST_KEY_UNKNOWN = "host_key_unknown"


def worker_rows(workers: list[Worker]) -> list[TableRow]:
    """One row per worker (as tall as its GPU list)."""
    return [
        TableRow(f"worker:{w.name}", worker_cells(w), worker_row_height(w))
        for w in sorted(workers, key=lambda w: w.name)
    ]


def host_key_modal(request: AddWorkerRequest, details: dict) -> ConfirmModal:
    """The question asked when a worker's SSH host key is not known yet."""
    host = str(details.get("host") or request.destination)
    key_type = str(details.get("key_type", "?"))
    fingerprint = str(details.get("fingerprint", "?"))
    body = (
        f"Host:        {host}\n"
        f"Key type:    {key_type}\n"
        f"Fingerprint: {fingerprint}\n\n"
        "This host has not been seen before. Compare the fingerprint with the one the machine "
        "itself shows (ssh-keygen -lf /etc/ssh/ssh_host_*_key.pub). If they differ, someone may "
        "be in the middle: cancel."
    )
    return ConfirmModal(f"Trust the host key of {host}?", body, confirm_label="Trust and connect")


class WorkersScreen(ServerScreen):
    """The workers table; `a` adds a worker over SSH, `d` removes the selected one."""

    BINDINGS = [
        Binding("a", "add", "Add worker", id="workers.add"),
        Binding("d,ctrl+d", "remove", "Remove", id="workers.remove"),
        Binding("e", "labels", "Labels", id="workers.labels"),
        Binding("r", "refresh", "Refresh", id="workers.refresh"),
        Binding("escape", "back", "Back", id="back"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.workers_by_name: dict[str, Worker] = {}

    def compose(self) -> ComposeResult:
        """Title, table, status line, key hints."""
        yield TitleBar("Workers", self.client.base_url)
        yield KeyedTable(WORKER_COLUMNS, flex="message", id="workers")
        yield Static(id="detail", markup=False)
        yield StatusLine(id="status")
        yield Footer()

    @property
    def table(self) -> KeyedTable:
        """The workers table."""
        return self.query_one("#workers", KeyedTable)

    def fetch(self) -> list[Worker]:
        """Every worker (thread)."""
        return self.client.list_workers()

    def show_data(self, data: list[Worker]) -> None:
        """Update the rows in place, keeping the cursor on its worker."""
        self.workers_by_name = {w.name: w for w in data}
        self.table.sync(worker_rows(data))
        self.show_detail()
        gpus = sum(len(w.gpus) for w in data)
        self.query_one(TitleBar).set_view(f"Workers[{len(data)}] GPUs[{gpus}]")
        if not data and not self.failing and not self.status.message:
            self.status.show("no workers yet: press a to add one over SSH")

    def selected(self) -> Worker | None:
        """The worker under the cursor."""
        key = self.table.cursor_key
        return self.workers_by_name.get(key.removeprefix("worker:")) if key else None

    def show_detail(self) -> None:
        """Everything the selected row had to cut, under the table."""
        worker = self.selected()
        self.query_one("#detail", Static).update(worker_detail(worker) if worker else "")

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The cursor moved: show the new row's details."""
        event.stop()
        self.show_detail()

    # -- actions ----------------------------------------------------------------------------

    def action_refresh(self) -> None:
        """Fetch now."""
        self.status.show("refreshing…")
        self.refresh_now()

    def action_back(self) -> None:
        """Back to the deployments."""
        self.dismiss(None)

    def action_add(self, initial: AddWorkerRequest | None = None, error: str = "") -> None:
        """Ask for the worker's SSH destination, then connect to it."""
        self.app.push_screen(AddWorkerModal(initial, error), self._add)

    def _add(self, request: AddWorkerRequest | None, accept_host_key: str | None = None) -> None:
        if request is None:
            return
        self.request(
            f"connecting to {request.destination} (installing the agent can take a while)",
            lambda: self.client.add_worker(
                request.destination, request.name, request.identity_file, accept_host_key
            ),
            lambda worker: f"added worker {worker.name}",
            context=request,
        )

    def request_failed(self, message: RequestFailed) -> None:
        """An unknown host key asks the operator; any other error reopens the form with it."""
        request = message.context
        if not isinstance(request, AddWorkerRequest):
            super().request_failed(message)
            return
        error = message.error
        if error.code == HOST_KEY_UNKNOWN:
            fingerprint = str(error.details.get("fingerprint", ""))
            self.status.show(f"{request.destination}: unknown host key, check its fingerprint")

            def answered(trust: bool | None) -> None:
                if trust and fingerprint:
                    self._add(request, accept_host_key=fingerprint)
                else:
                    self.status.error(
                        f"did not add {request.destination}: its host key was not trusted"
                    )

            self.app.push_screen(host_key_modal(request, error.details), answered)
            return
        super().request_failed(message)
        self.action_add(request, error.message)

    def action_labels(self) -> None:
        """Edit the selected worker's labels."""
        worker = self.selected()
        if worker is None:
            self.status.error("no worker selected: press a to add one")
            return
        name = worker.name

        def answered(labels: dict[str, str] | None) -> None:
            if labels is not None:
                self.request(
                    f"saving the labels of {name}",
                    lambda: self.client.set_worker_labels(name, labels),
                    f"labels of {name} saved",
                )

        self.app.push_screen(LabelsModal(name, worker.labels), answered)

    def action_remove(self) -> None:
        """Forget the selected worker, after confirmation."""
        worker = self.selected()
        if worker is None:
            self.status.error("no worker selected: press a to add one")
            return
        name = worker.name

        def answered(yes: bool | None) -> None:
            if yes:
                self.request(
                    f"removing worker {name}",
                    lambda: self.client.remove_worker(name),
                    f"removed worker {name}",
                )

        self.app.push_screen(
            ConfirmModal(
                f"Remove worker {name}?",
                f"{worker.destination} is forgotten; the server refuses while instances run on "
                "it (scale or delete them first). The machine itself is not touched.",
                confirm_label="Remove",
            ),
            answered,
        )
