"""Workers: the machines that run instances, their GPUs live (nvtop-like meters refreshed every
second), and adding, labelling or removing one."""

from __future__ import annotations

from dataclasses import dataclass, field

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Static

from gpustack_tui.client import ApiError
from gpustack_tui.domain.worker import Worker, WorkerStats
from gpustack_tui.tui.messages import Fetched, RequestFailed, as_api_error
from gpustack_tui.tui.presentation import worker_detail
from gpustack_tui.tui.screens.add_worker import AddWorkerModal, AddWorkerRequest
from gpustack_tui.tui.screens.base import ServerScreen
from gpustack_tui.tui.screens.confirm import ConfirmModal
from gpustack_tui.tui.screens.labels import LabelsModal
from gpustack_tui.tui.widgets.gpu_panel import LIVE_WORKER_COLUMNS, GpuPanel, worker_table_rows
from gpustack_tui.tui.widgets.key_footer import KeyFooter
from gpustack_tui.tui.widgets.keyed_table import KeyedTable
from gpustack_tui.tui.widgets.status_line import StatusLine
from gpustack_tui.tui.widgets.title_bar import TitleBar

HOST_KEY_UNKNOWN = "host_key_unknown"
LIVE_SECONDS = 1.0
"""The view polls this often (the server asks each agent at most once a second)."""


@dataclass
class WorkersData:
    """One poll: the stored workers, and their live figures (or why there are none)."""

    workers: list[Worker]
    stats: dict[str, WorkerStats] = field(default_factory=dict)
    stats_error: ApiError | None = None


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
    """The workers table over every GPU's meters; `a` adds a worker over SSH, `e` edits the
    selected one's labels, `d` removes it."""

    DEFAULT_CSS = """
    WorkersScreen #workers {
        height: auto;
        max-height: 45%;
    }
    WorkersScreen #detail {
        height: auto;
        max-height: 3;
    }
    """

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
        self.stats: dict[str, WorkerStats] = {}
        self.stats_problem = ""

    def compose(self) -> ComposeResult:
        """Title, workers table, detail line, GPU meters, status line, key hints."""
        yield TitleBar("Workers", self.client.base_url)
        yield KeyedTable(LIVE_WORKER_COLUMNS, flex="labels", id="workers")
        yield Static(id="detail", markup=False)
        yield GpuPanel(id="gpu-panel")
        yield StatusLine(id="status")
        yield KeyFooter()

    @property
    def table(self) -> KeyedTable:
        """The workers table."""
        return self.query_one("#workers", KeyedTable)

    @property
    def gpu_panel(self) -> GpuPanel:
        """The meters of every GPU."""
        return self.query_one(GpuPanel)

    def fetch(self) -> WorkersData:
        """Every worker, then their live figures (thread). Without live figures (an older
        server, a slow answer) the stored inventory is shown and the status line says why."""
        data = WorkersData(self.client.list_workers())
        try:
            data.stats = {s.name: s for s in self.client.worker_stats()}
        except Exception as exc:
            data.stats_error = as_api_error(exc)
        return data

    def show_data(self, data: WorkersData) -> None:
        """Update the rows in place, keeping the cursor on its worker, and redraw the meters."""
        workers = data.workers
        self.workers_by_name = {w.name: w for w in workers}
        self.stats = data.stats
        self.show_rows()
        self.show_detail()
        gpus = sum(len(w.gpus) for w in workers)
        self.query_one(TitleBar).set_view(f"Workers[{len(workers)}] GPUs[{gpus}]")
        stats_problem = data.stats_error.message if data.stats_error is not None else ""
        if stats_problem and stats_problem != self.stats_problem:
            # Said once, not at every poll: it must not hide what the operator's actions say.
            self.status.error(f"live GPU figures unavailable: {stats_problem}")
        self.stats_problem = stats_problem
        if not workers and not self.failing and not self.status.message:
            self.status.show("no workers yet: press a to add one over SSH")

    def show_rows(self) -> None:
        """The table rows for the current figures and terminal width."""
        workers = list(self.workers_by_name.values())
        self.table.sync(worker_table_rows(workers, self.stats, self.size.width))

    def on_resize(self) -> None:
        """Narrow terminals get compact rows."""
        self.show_rows()

    def on_fetched(self, message: Fetched) -> None:
        """Poll every `LIVE_SECONDS` (faster than the other views) while shown."""
        super().on_fetched(message)
        if self._timer is not None and (self.gs_app.refresh_interval or 0) > LIVE_SECONDS:
            self._timer.stop()
            self._timer = self.set_timer(LIVE_SECONDS, self.refresh_now)

    def selected(self) -> Worker | None:
        """The worker under the cursor."""
        key = self.table.cursor_key
        return self.workers_by_name.get(key.removeprefix("worker:")) if key else None

    def show_detail(self) -> None:
        """Everything the selected row had to cut, under the table."""
        worker = self.selected()
        self.query_one("#detail", Static).update(worker_detail(worker) if worker else "")
        self.gpu_panel.show(
            list(self.workers_by_name.values()), self.stats, worker.name if worker else None
        )

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The cursor moved: show the new row's details."""
        event.stop()
        self.show_detail()

    # -- actions ----------------------------------------------------------------------------

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
