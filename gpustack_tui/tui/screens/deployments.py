"""The main view: every deployment with its instances under it, refreshed every 2 s."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import DataTable, Footer, Static

from gpustack_tui.domain.instance import Instance, InstanceState
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.tui.presentation import (
    DEPLOYMENT_COLUMNS,
    deployment_cells,
    deployment_detail,
    instance_cells,
    instance_detail,
)
from gpustack_tui.tui.screens.base import ServerScreen
from gpustack_tui.tui.screens.confirm import ConfirmModal
from gpustack_tui.tui.screens.deploy_form import DeployFormScreen
from gpustack_tui.tui.screens.logs import LogsScreen
from gpustack_tui.tui.screens.scale import ScaleModal
from gpustack_tui.tui.screens.workers import WorkersScreen
from gpustack_tui.tui.widgets.keyed_table import KeyedTable, TableRow
from gpustack_tui.tui.widgets.status_line import StatusLine
from gpustack_tui.tui.widgets.title_bar import TitleBar

DEP = "dep:"
INST = "inst:"


def deployment_rows(views: list[DeploymentView]) -> list[TableRow]:
    """Flattened rows: each deployment, then its instances indented under it."""
    rows = []
    for view in sorted(views, key=lambda v: v.name):
        rows.append(TableRow(DEP + view.name, deployment_cells(view)))
        instances = sorted(view.instances, key=lambda i: (i.created_at, i.name))
        for n, instance in enumerate(instances):
            cells = instance_cells(instance, last=n == len(instances) - 1)
            rows.append(TableRow(INST + instance.name, cells))
    return rows


EMPTY_HINT = "No deployments yet: press n to deploy a model, w to see the workers that will run it."


class DeploymentsScreen(ServerScreen):
    """Deployments and their instances; the keys act on the row under the cursor."""

    BINDINGS = [
        Binding("n", "new", "New", id="deployments.new"),
        Binding("m", "search_models", "Models", id="deployments.search_models"),
        Binding("l", "logs", "Logs", id="deployments.logs"),
        Binding("s", "scale", "Scale", id="deployments.scale"),
        Binding("ctrl+d", "delete", "Delete", id="deployments.delete"),
        Binding("x", "stop", "Stop", id="deployments.stop"),
        Binding("X", "start", "Start", id="deployments.start"),
        Binding("w", "workers", "Workers", id="deployments.workers"),
        Binding("a", "api_keys", "API keys", id="deployments.api_keys"),
        Binding("r", "refresh", "Refresh", id="deployments.refresh"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.views: dict[str, DeploymentView] = {}
        self.instances: dict[str, Instance] = {}
        self._select_after_refresh: str | None = None

    def compose(self) -> ComposeResult:
        """Title, table, status line, key hints."""
        yield TitleBar("Deployments", self.client.base_url)
        yield KeyedTable(DEPLOYMENT_COLUMNS, flex="details", id="deployments")
        yield Static(id="detail", markup=False)
        yield StatusLine(self.gs_app.startup_status, id="status")
        yield Footer()

    @property
    def table(self) -> KeyedTable:
        """The deployments table."""
        return self.query_one("#deployments", KeyedTable)

    def fetch(self) -> list[DeploymentView]:
        """Every deployment with its instances (thread)."""
        return self.client.list_deployments()

    def show_data(self, data: list[DeploymentView]) -> None:
        """Update the rows in place; the cursor stays on its deployment or instance."""
        previous = self.instances
        self.views = {v.name: v for v in data}
        self.instances = {i.name: i for v in data for i in v.instances}
        self.table.sync(deployment_rows(data), fallback=lambda key: self._parent_key(key, previous))
        if self._select_after_refresh and self.table.select_key(self._select_after_refresh):
            self._select_after_refresh = None
        self.show_detail()
        total = sum(len(v.instances) for v in data)
        self.query_one(TitleBar).set_view(f"Deployments[{len(data)}] Instances[{total}]")
        if not data and not self.failing and not self.status.message:
            self.status.show("no deployments yet: press n to deploy a model, w to add workers")

    def _parent_key(self, key: str, known: dict[str, Instance]) -> str | None:
        """Where the cursor goes when its instance row disappears: the instance's deployment."""
        if key.startswith(INST):
            name = key.removeprefix(INST)
            instance = known.get(name)
            if instance is not None:
                return DEP + instance.deployment
            deployment = name.rsplit("-", 1)[0]
            return DEP + deployment
        return None

    # -- what the cursor is on -------------------------------------------------------------

    def selected(self) -> tuple[DeploymentView | None, Instance | None]:
        """The deployment under the cursor, and the instance if the cursor is on one."""
        key = self.table.cursor_key
        if key is None:
            return None, None
        if key.startswith(INST):
            instance = self.instances.get(key.removeprefix(INST))
            view = self.views.get(instance.deployment) if instance else None
            return view, instance
        return self.views.get(key.removeprefix(DEP)), None

    def show_detail(self) -> None:
        """Everything the selected row had to cut, under the table."""
        view, instance = self.selected()
        text = instance_detail(instance) if instance else deployment_detail(view) if view else ""
        if not self.views:
            text = EMPTY_HINT
        self.query_one("#detail", Static).update(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The cursor moved: show the new row's details."""
        event.stop()
        self.show_detail()

    # -- actions ----------------------------------------------------------------------------

    def action_refresh(self) -> None:
        """Fetch now."""
        self.status.show("refreshing…")
        self.refresh_now()

    def action_new(self) -> None:
        """Open the deploy form."""
        self.app.push_screen(DeployFormScreen(), self._deployed)

    def action_search_models(self) -> None:
        """Search Hugging Face or ModelScope (or give a path), then the deploy form."""
        from gpustack_tui.tui.screens.model_search import ModelSearchScreen

        self.app.push_screen(ModelSearchScreen(), self._deployed)

    def _deployed(self, view: DeploymentView | None) -> None:
        if view is None:
            return
        self.status.show(
            f"created deployment {view.name}: its instances appear under it", "success"
        )
        self._select_after_refresh = DEP + view.name
        self.refresh_now()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        """Enter on a row opens the logs."""
        event.stop()
        self.action_logs()

    def action_logs(self) -> None:
        """The log of the selected instance (on a deployment row: its first instance)."""
        view, instance = self.selected()
        if instance is None and view is not None and view.instances:
            running = [i for i in view.instances if i.state is InstanceState.RUNNING]
            instance = (running or sorted(view.instances, key=lambda i: i.created_at))[0]
        if instance is None:
            self.status.error("no instance selected: move the cursor to an instance row")
            return
        self.app.push_screen(LogsScreen(instance.name, instance.deployment))

    def action_scale(self) -> None:
        """Ask for a new replica count for the selected deployment."""
        view, _ = self.selected()
        if view is None:
            self.status.error("no deployment selected: press n to create one")
            return
        name = view.name

        def scale(replicas: int | None) -> None:
            if replicas is None or replicas == view.spec.replicas:
                return
            self.request(
                f"scaling {name} to {replicas}",
                lambda: self.client.scale(name, replicas),
                f"scaled {name} to {replicas} replicas",
            )

        self.app.push_screen(ScaleModal(name, view.spec.replicas), scale)

    def action_delete(self) -> None:
        """Delete the selected deployment, or the selected instance, after confirmation."""
        view, instance = self.selected()
        if instance is not None:
            name = instance.name
            modal = ConfirmModal(
                f"Delete instance {name}?",
                f"Its process on {instance.worker or 'its worker'} is stopped. Deployment "
                f"{instance.deployment} then starts a new instance if it still wants "
                f"{view.spec.replicas if view else '?'} replicas.",
            )
            call, what = (lambda: self.client.delete_instance(name)), f"deleting instance {name}"
        elif view is not None:
            name = view.name
            modal = ConfirmModal(
                f"Delete deployment {name}?",
                f"All {len(view.instances)} of its instances are stopped and the deployment is "
                "forgotten. To stop it but keep it, scale it to 0 (s) instead.",
            )
            call, what = (lambda: self.client.delete_deployment(name)), f"deleting {name}"
        else:
            self.status.error("nothing selected to delete")
            return

        def answered(yes: bool | None) -> None:
            if yes:
                self.request(what, call, f"deleted {name}")

        self.app.push_screen(modal, answered)

    def action_stop(self) -> None:
        """Stop the selected deployment (replicas to 0, the count remembered), after
        confirmation."""
        view, _ = self.selected()
        if view is None:
            self.status.error("no deployment selected: move the cursor to a deployment")
            return
        name, count = view.name, view.spec.replicas
        if count == 0:
            self.status.error(f"{name} is already stopped: X starts it")
            return
        modal = ConfirmModal(
            f"Stop deployment {name}?",
            f"Its {count} replica(s) are stopped; the deployment is kept, and X starts "
            f"{count} again.",
        )

        def answered(yes: bool | None) -> None:
            if yes:
                self.request(
                    f"stopping {name}",
                    lambda: self.client.stop_deployment(name),
                    f"stopped {name}: X starts its {count} replica(s) again",
                )

        self.app.push_screen(modal, answered)

    def action_start(self) -> None:
        """Start the selected stopped deployment with the replica count it had (1 if none)."""
        view, _ = self.selected()
        if view is None:
            self.status.error("no deployment selected: move the cursor to a deployment")
            return
        name = view.name
        if view.spec.replicas:
            self.status.error(f"{name} already runs {view.spec.replicas} replica(s): s scales it")
            return
        self.request(
            f"starting {name}",
            lambda: self.client.start_deployment(name),
            lambda started: (
                f"started {name} with {started.spec.replicas} replica(s); s changes the count"
            ),
        )

    def action_workers(self) -> None:
        """Open the workers view."""
        self.app.push_screen(WorkersScreen())

    def action_api_keys(self) -> None:
        """Open the API keys view (and from there, usage)."""
        from gpustack_tui.tui.screens.api_keys import ApiKeysScreen

        self.app.push_screen(ApiKeysScreen())
