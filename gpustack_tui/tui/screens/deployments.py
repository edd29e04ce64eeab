"""The main view: every deployment with its instances under it, refreshed in place.

`/` filters (`!term` hides matches), `o` cycles the sort, `p` shows problems only; the cursor
stays on its deployment or instance through refreshes, filtering and sorting.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.screen import ModalScreen
from textual.widgets import DataTable, Static

from gpustack_tui.domain.instance import Instance, InstanceState
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.tui.deployment_query import Query
from gpustack_tui.tui.presentation import (
    DEPLOYMENT_COLUMNS,
    deployment_cells,
    deployment_detail,
    instance_cells,
    instance_detail,
)
from gpustack_tui.tui.screens.base import ServerScreen
from gpustack_tui.tui.screens.confirm import ConfirmModal
from gpustack_tui.tui.screens.filter_sort import FilterSortMixin
from gpustack_tui.tui.screens.scale import ScaleModal
from gpustack_tui.tui.screens.type_to_confirm import TypeToConfirmModal
from gpustack_tui.tui.widgets.filter_bar import FilterBar
from gpustack_tui.tui.widgets.key_footer import KeyFooter
from gpustack_tui.tui.widgets.keyed_table import KeyedTable, TableRow
from gpustack_tui.tui.widgets.status_line import StatusLine
from gpustack_tui.tui.widgets.title_bar import TitleBar

DEP = "dep:"
INST = "inst:"


def deployment_rows(views: list[DeploymentView], query: Query | None = None) -> list[TableRow]:
    """Flattened rows: each deployment `query` shows (all, by name, without one), then its
    instances indented under it."""
    rows = []
    for view in (query or Query()).apply(views):
        rows.append(TableRow(DEP + view.name, deployment_cells(view)))
        instances = sorted(view.instances, key=lambda i: (i.created_at, i.name))
        for n, instance in enumerate(instances):
            cells = instance_cells(instance, last=n == len(instances) - 1)
            rows.append(TableRow(INST + instance.name, cells))
    return rows


EMPTY_HINT = "No deployments yet: press n to deploy a model, w to see the workers that will run it."


class DeploymentsScreen(FilterSortMixin, ServerScreen):
    """Deployments and their instances; the keys act on the row under the cursor."""

    AUTO_FOCUS = "#deployments"
    # Footer hints are kept to what fits 80 columns; `?` lists every key.
    BINDINGS = [
        Binding("n", "new", "New", id="deployments.new"),
        Binding("m", "search_models", "Models", id="deployments.search_models", show=False),
        Binding("l", "logs", "Logs", id="deployments.logs", show=False),  # enter does it too
        Binding("d", "describe", "Describe", id="deployments.describe"),
        Binding("s", "scale", "Scale", id="deployments.scale"),
        Binding("e", "edit", "Edit", id="deployments.edit", show=False),
        Binding("ctrl+d", "delete", "Delete", id="deployments.delete"),
        Binding("x", "stop", "Stop", id="deployments.stop", show=False),
        Binding("X", "start", "Start", id="deployments.start", show=False),
        Binding("c", "copy_name", "Copy name", id="deployments.copy_name", show=False),
        Binding("slash", "filter", "Filter", id="deployments.filter"),
        Binding("o", "sort", "Sort", id="deployments.sort", show=False),
        Binding("p", "problems", "Problems", id="deployments.problems", show=False),
        Binding("escape", "clear_filter", "Clear filter", id="deployments.clear", show=False),
        Binding("w", "workers", "Workers", id="deployments.workers", show=False),
        Binding("a", "api_keys", "API keys", id="deployments.api_keys", show=False),
        Binding("b", "backends", "Backends", id="deployments.backends", show=False),
        Binding("r", "refresh", "Refresh", id="deployments.refresh", show=False),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.views: dict[str, DeploymentView] = {}
        self.instances: dict[str, Instance] = {}
        self._select_after_refresh: str | None = None
        self.query_state = Query()
        self._last_cursor_key: str | None = None

    def compose(self) -> ComposeResult:
        """Title, table, status line, key hints."""
        yield TitleBar("Deployments", self.client.base_url)
        yield FilterBar(id="filter")
        yield KeyedTable(DEPLOYMENT_COLUMNS, flex="details", id="deployments")
        yield Static(id="detail", markup=False)
        yield StatusLine(self.gs_app.startup_status, id="status")
        yield KeyFooter(compact=True)

    def on_mount(self) -> None:
        """Say what was wrong in the keymap or config files (they never stop the app)."""
        problems = getattr(self.gs_app, "config_problems", None)
        if problems:
            started = [self.gs_app.startup_status] if self.gs_app.startup_status else []
            self.status.show("; ".join([*problems, *started]), "warning")
            # A server error may soon take the status line: the toast keeps them in view.
            self.notify(
                "\n".join(problems),
                title="keymap / settings",
                severity="warning",
                timeout=15,
                markup=False,
            )

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
        self.show_rows(previous)  # an empty installation: the table says what to do

    def show_rows(self, previous: dict[str, Instance] | None = None) -> None:
        """Rows for the current data and query; the title says what is shown and how."""
        views = list(self.views.values())
        known = self.instances if previous is None else previous
        rows = deployment_rows(views, self.query_state)
        emptied = self.table.cursor_key is None
        self.table.sync(rows, fallback=lambda key: self._parent_key(key, known))
        # A filter that showed nothing for a keystroke must not lose the row the cursor was on.
        if emptied and self._last_cursor_key:
            self.table.select_key(self._last_cursor_key)
        self._last_cursor_key = self.table.cursor_key or self._last_cursor_key
        if self._select_after_refresh and self.table.select_key(self._select_after_refresh):
            self._select_after_refresh = None
        self.show_detail()
        shown = sum(1 for row in rows if row.key.startswith(DEP))
        count = f"{shown}/{len(views)}" if shown != len(views) else str(len(views))
        total = sum(len(v.instances) for v in views)
        title = f"Deployments[{count}] Instances[{total}] {self.query_state.describe()}"
        self.query_one(TitleBar).set_view(title)

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
        elif not self.table.row_keys:
            text = "nothing matches: escape clears the filter and problems-only (p)"
        self.query_one("#detail", Static).update(text)

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The cursor moved: show the new row's details."""
        event.stop()
        self._last_cursor_key = self.table.cursor_key or self._last_cursor_key
        self.show_detail()

    # -- actions ----------------------------------------------------------------------------

    def action_new(self) -> None:
        """Open the deploy form."""
        self.gs_app.open_screen("deploy-form", callback=self._deployed)

    def action_search_models(self) -> None:
        """Search Hugging Face or ModelScope (or give a path), then the deploy form."""
        self.gs_app.open_screen("model-search", callback=self._deployed)

    def action_edit(self) -> None:
        """Change the selected deployment with the deploy form (afterwards it offers to
        recreate the instances that keep the old configuration)."""
        view, _ = self.selected()
        if view is None:
            self.status.error("no deployment selected: press n to create one")
            return
        self.gs_app.open_screen("edit-form", view, callback=lambda _view: self.refresh_now())

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
        self.gs_app.open_screen("logs", instance.name, instance.deployment)

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
        """Delete the selected instance (the deployment starts another) or deployment, after
        confirmation; a deployment with running instances needs its name typed."""
        view, instance = self.selected()
        if instance is not None:
            name = instance.name
            modal: ModalScreen[bool] = ConfirmModal(
                f"Delete instance {name}?",
                f"Its process on {instance.worker or 'its worker'} is stopped. Deployment "
                f"{instance.deployment} then starts a new instance if it still wants "
                f"{view.spec.replicas if view else '?'} replicas.",
            )
            call, what = (lambda: self.client.delete_instance(name)), f"deleting instance {name}"
        elif view is not None:
            name, title = view.name, f"Delete deployment {view.name}?"
            body = (
                f"All {len(view.instances)} of its instances are stopped and the deployment is "
                "forgotten. To stop it but keep it, press x (stop) instead."
            )
            modal = ConfirmModal(title, body)
            if view.running:
                serving = f"{view.running} instance(s) are running and serving requests. "
                modal = TypeToConfirmModal(title, serving + body, name)
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
        self.gs_app.open_screen("workers")

    def action_api_keys(self) -> None:
        """Open the API keys view (and from there, usage)."""
        self.gs_app.open_screen("api-keys")

    def action_backends(self) -> None:
        """Open the backends view: built-in ones and those users define."""
        self.gs_app.open_screen("backends")

    # -- describe, copy, jump (filter, sort, problems: FilterSortMixin) ------------------------

    def action_describe(self) -> None:
        """The whole selected deployment: spec as YAML, every instance in full."""
        view, _ = self.selected()
        if view is None:
            self.status.error("no deployment selected: move the cursor to a deployment")
            return
        self.gs_app.open_screen("describe", view)

    def action_copy_name(self) -> None:
        """Copy the selected deployment's or instance's name (OSC 52: works over SSH)."""
        view, instance = self.selected()
        name = instance.name if instance else view.name if view else None
        if name is None:
            self.status.error("nothing selected to copy")
            return
        self.app.copy_to_clipboard(name)
        self.notify(f"copied {name} to the clipboard", title="Copy name", markup=False)

    def show_deployment(self, name: str) -> bool:
        """Put the cursor on deployment `name`, clearing a filter that hides it (palette)."""
        if name not in self.views:
            return False
        if not self.query_state.matches(self.views[name]):
            self.clear_query()
        self.table.focus()
        return self.table.select_key(DEP + name)
