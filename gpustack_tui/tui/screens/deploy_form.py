"""The deploy form: the model, how it runs, Performance / Scheduling / Advanced, a live plan.

Validation is `forms.build_spec` (the same rules as the API and the CLI). Every error is shown
under its field; the first field in error gets the focus, its section expanded. An error from
the server is shown at the top, and everything typed stays. The plan preview asks the server
where the replicas would land each time the fields settle (debounced, in a thread worker).

The same form edits a deployment (`DeployFormScreen.editing(view)`): prefilled from its stored
spec, the name read-only, Save applies the spec (PUT); then `recreate.offer_recreate` says what
keeps the old configuration and offers to recreate it.
"""

from __future__ import annotations

from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.timer import Timer
from textual.widgets import (
    Button,
    Checkbox,
    Collapsible,
    Input,
    RadioSet,
    Select,
    SelectionList,
    Static,
    TextArea,
)

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.tui.forms import (
    FIELD_ORDER,
    SECTION_OF,
    DeployFormValues,
    FormErrors,
    build_spec,
    disabled_reasons,
    values_from_spec,
)
from gpustack_tui.tui.messages import RequestDone, RequestFailed, as_api_error
from gpustack_tui.tui.screens.base import ClientScreen
from gpustack_tui.tui.screens.confirm import ConfirmModal
from gpustack_tui.tui.screens.recreate import offer_recreate
from gpustack_tui.tui.widgets.deploy_sections import (
    WorkersLoaded,
    advanced_section,
    families_of,
    gpu_selections,
    model_fields,
    performance_section,
    read_values,
    scheduling_section,
    show_backend_choices,
)
from gpustack_tui.tui.widgets.form_field import chosen
from gpustack_tui.tui.widgets.key_footer import KeyFooter
from gpustack_tui.tui.widgets.plan_preview import PlanPreview, PlanReady
from gpustack_tui.tui.widgets.status_line import StatusLine
from gpustack_tui.tui.widgets.title_bar import TitleBar

PLAN_DELAY = 0.4
FIELD_OF_CODE = {"exists": "name", "model_path_missing": "local_path"}
"""Server error codes that belong to one field of the form."""


def estimate_body(spec: DeploymentSpec) -> dict[str, Any]:
    """The POST /estimate body for a spec: its model, backend, category and parameters."""
    category = spec.advanced.category
    return {
        "source": {spec.source.kind: spec.source.value},
        "backend": spec.backend,
        "category": None if category == "auto" else category,
        "backend_parameters": spec.advanced.backend_parameters,
    }


class DeployFormScreen(ClientScreen):
    """Dismisses with the created `DeploymentView`, or None when left without deploying."""

    HORIZONTAL_BREAKPOINTS = [(0, "-narrow"), (100, "-wide")]
    """Below 100 columns the plan preview goes under the fields instead of beside them."""
    BINDINGS = [
        Binding("ctrl+s", "submit", "Deploy", id="form.submit"),
        Binding("escape", "back", "Cancel", id="back"),
    ]

    def __init__(
        self, initial: DeployFormValues | None = None, edit: DeploymentView | None = None
    ) -> None:
        super().__init__()
        self.initial = initial or DeployFormValues()
        self.edit = edit
        self.families: frozenset[str] = frozenset()
        self.submitting = False
        self.plan_seq = 0
        self._plan_timer: Timer | None = None

    def compose(self) -> ComposeResult:
        """The fields in a scrollable column, the plan preview beside them."""
        v = self.initial
        title = f"Edit deployment {self.edit.name}" if self.edit else "New deployment"
        yield TitleBar(title, self.client.base_url)
        with Horizontal(id="form-body"):
            with VerticalScroll(id="form"):
                yield Static("", id="form-error", markup=False)
                yield from model_fields(v)
                yield performance_section(v)
                yield scheduling_section(v)
                yield advanced_section(v)
                with Horizontal(id="form-buttons"):
                    yield Button("Cancel", id="cancel")
                    label = "Save" if self.edit else "Deploy"
                    yield Button(label, id="submit", variant="primary")
            yield PlanPreview(id="plan")
        does = "saves" if self.edit else "deploys"
        yield StatusLine(f"ctrl+s {does}; escape leaves the form", id="status")
        yield KeyFooter()

    def on_mount(self) -> None:
        """Show what applies, start in the model field, load the GPUs, plan."""
        self.apply_choices()
        if self.edit is not None:
            self.query_one("#name", Input).disabled = True
            hint = self.query_one("#name-hint", Static)
            hint.update("a deployment keeps its name: deploy a copy under a new name to rename")
        first = "name" if self.model_given() and not self.edit else self.model_field()
        self.query_one(f"#{first}").focus()
        self.preview.show_message("fill in the form to see where the replicas would land")
        self._load_workers()
        self.schedule_plan()

    @property
    def preview(self) -> PlanPreview:
        """The plan preview panel."""
        return self.query_one("#plan", PlanPreview)

    def model_field(self) -> str:
        """The field that names the model for the chosen source."""
        source = chosen(self.query_one("#source", RadioSet), "local_path")
        return "local_path" if source == "local_path" else "repo_id"

    def model_given(self) -> bool:
        """Whether the model field was prefilled (from the model search)."""
        return bool(self.initial.repo_id or self.initial.local_path)

    # -- what applies -----------------------------------------------------------------------

    def apply_choices(self) -> None:
        """Show the fields of the chosen source and mode; disable what the backend lacks."""
        hub = self.model_field() == "repo_id"
        self.query_one("#field-local_path").display = not hub
        self.query_one("#field-repo_id").display = hub
        backend = chosen(self.query_one("#backend", RadioSet), "custom")
        reasons = disabled_reasons(backend, self.families)
        show_backend_choices(self, backend, self.families)
        kv = self.query_one("#kv_enabled", Checkbox)
        kv.disabled = "kv_enabled" in reasons
        if kv.disabled:
            kv.value = False
        self.query_one("#kv_enabled-reason", Static).update(reasons.get("kv_enabled", ""))
        for name in ("kv_ratio", "kv_max_ram_gib", "kv_chunk_size"):
            self.query_one(f"#{name}", Input).disabled = not kv.value
        for name in ("command", "vram_claim_gib"):
            self.query_one(f"#{name}", Input).disabled = name in reasons
            if name in reasons:
                self.query_one(f"#{name}-hint", Static).update(reasons[name])
        manual = chosen(self.query_one("#mode", RadioSet), "auto") == "manual"
        for name in ("placement", "worker_selector"):
            self.query_one(f"#field-{name}").display = not manual
        for name in ("gpu_selector", "gpus_per_replica"):
            self.query_one(f"#field-{name}").display = manual

    @work(thread=True, exclusive=True, exit_on_error=False, group="workers")
    def _load_workers(self) -> None:
        try:
            self.post_message(WorkersLoaded(self.client.list_workers()))
        except Exception as exc:
            self.post_message(WorkersLoaded([], as_api_error(exc)))

    def on_workers_loaded(self, message: WorkersLoaded) -> None:
        """Fill the GPU selector with every GPU and its free memory."""
        message.stop()
        hint = self.query_one("#gpu_selector-hint", Static)
        if message.error is not None:
            hint.update(f"could not list the workers: {message.error.message}")
            return
        self.families = families_of(message.workers)
        self.apply_choices()
        selector = self.query_one("#gpu_selector", SelectionList)
        options = gpu_selections(message.workers, list(selector.selected))
        selector.clear_options()
        selector.add_options(options)
        hint.update("space toggles a GPU" if options else "no worker has GPUs: add one (w, then a)")

    # -- the plan preview -------------------------------------------------------------------

    def on_input_changed(self, event: Input.Changed) -> None:
        """A field changed: plan again once typing settles."""
        self.schedule_plan()

    def on_text_area_changed(self, event: TextArea.Changed) -> None:
        """The env or parameters changed: plan again once typing settles."""
        self.schedule_plan()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        """A switch changed: update what applies and plan again."""
        self.apply_choices()
        self.schedule_plan()

    def on_radio_set_changed(self, event: RadioSet.Changed) -> None:
        """A choice changed: update what applies and plan again."""
        self.apply_choices()
        self.schedule_plan()

    def on_select_changed(self, event: Select.Changed) -> None:
        """The category changed: plan again."""
        self.schedule_plan()

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged) -> None:
        """The chosen GPUs changed: plan again."""
        self.schedule_plan()

    def schedule_plan(self) -> None:
        """(Re)start the debounce timer: only the last change within PLAN_DELAY plans."""
        if self._plan_timer is not None:
            self._plan_timer.stop()
        self._plan_timer = self.set_timer(PLAN_DELAY, self.request_plan)

    def request_plan(self) -> None:
        """Ask the server for a plan of the form as it is (or say what is missing)."""
        self._plan_timer = None
        try:
            spec = build_spec(self.values())
        except FormErrors as exc:
            fields = ", ".join(f.replace("_", " ") for f in exc.errors)
            self.preview.show_message(f"complete these fields to see a plan: {fields}")
            return
        self.plan_seq += 1
        self.preview.border_subtitle = "planning…"
        self._plan_in_thread(self.plan_seq, spec)

    @work(thread=True, exclusive=True, exit_on_error=False, group="plan")
    def _plan_in_thread(self, seq: int, spec: DeploymentSpec) -> None:
        try:
            plan = self.client.plan(spec)
        except Exception as exc:
            self.post_message(PlanReady(seq, None, as_api_error(exc)))
            return
        estimate, estimate_error = None, ""
        if spec.source.kind != "local_path":
            try:
                estimate = self.client.estimate(estimate_body(spec))
            except Exception as exc:
                estimate_error = as_api_error(exc).message
        self.post_message(PlanReady(seq, plan, None, estimate, estimate_error))

    def on_plan_ready(self, message: PlanReady) -> None:
        """Show the newest plan; answers to older requests are dropped."""
        message.stop()
        if message.seq != self.plan_seq:
            return
        self.preview.border_subtitle = ""
        if message.error is not None:
            self.preview.show_message(f"no plan: {message.error.message}", "red")
        elif message.plan is not None:
            self.preview.show_plan(message.plan, message.estimate, message.estimate_error)

    # -- reading the form -------------------------------------------------------------------

    def values(self) -> DeployFormValues:
        """What the widgets hold now."""
        return read_values(self)

    def show_errors(self, errors: dict[str, str]) -> None:
        """Put each message under its field (clearing the others); expand the section of the
        first one and focus it."""
        for field in FIELD_ORDER:
            message = errors.get(field, "")
            error = self.query_one(f"#{field}-error", Static)
            error.update(message)
            error.display = bool(message)
            self.query_one(f"#field-{field}").set_class(bool(message), "-invalid")
        if errors:
            first = next(iter(errors))
            if first in SECTION_OF:
                self.query_one(f"#{SECTION_OF[first]}", Collapsible).collapsed = False
            target = self.query_one(f"#{first}")
            self.call_after_refresh(target.focus)
            self.call_after_refresh(target.scroll_visible, animate=False)

    # -- actions ----------------------------------------------------------------------------

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter moves to the next field (ctrl+s deploys)."""
        event.stop()
        self.focus_next()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Deploy or cancel."""
        event.stop()
        if event.button.id == "submit":
            self.action_submit()
        else:
            self.action_back()

    def action_submit(self) -> None:
        """Validate, then create the deployment on the server (in a thread)."""
        if self.submitting:
            return
        self.query_one("#form-error", Static).update("")
        try:
            spec = build_spec(self.values())
        except FormErrors as exc:
            self.show_errors(exc.errors)
            self.status.error(f"fix the {len(exc.errors)} field(s) marked in red, then ctrl+s")
            return
        self.show_errors({})
        self.submitting = True
        self.query_one("#submit", Button).disabled = True
        if self.edit is not None:
            self.request(
                f"saving {spec.name}",
                lambda: self.client.apply_deployment(spec),
                f"saved {spec.name}",
            )
            return
        self.request(
            f"creating {spec.name}",
            lambda: self.client.create_deployment(spec),
            f"created {spec.name}",
        )

    def request_succeeded(self, message: RequestDone) -> None:
        """Created: back to the deployments with the new one."""
        self.submitting = False
        result = message.result
        if self.edit is not None and isinstance(result, DeploymentView):
            # Asked over the form (it is the modal's requester), which closes on the answer.
            offer_recreate(self.app, self.client, self.edit.spec, result, self.dismiss)
            return
        self.dismiss(result if isinstance(result, DeploymentView) else None)

    def request_failed(self, message: RequestFailed) -> None:
        """Refused: say why at the top, keep everything typed."""
        self.submitting = False
        self.query_one("#submit", Button).disabled = False
        error = message.error
        what = "the change" if self.edit else "the deployment"
        text = f"The server refused {what}: {error.message}"
        self.query_one("#form-error", Static).update(text)
        self.status.error(f"{text} (fix it and press ctrl+s again)")
        field = str(error.details.get("field", "")) or FIELD_OF_CODE.get(error.code, "")
        if field == "local_path":
            field = self.model_field()
        if field in FIELD_ORDER:
            self.show_errors({field: error.message})
        self.query_one("#form", VerticalScroll).scroll_home(animate=False)

    @classmethod
    def editing(cls, view: DeploymentView) -> DeployFormScreen:
        """The form for changing `view`'s deployment, prefilled from its stored spec."""
        return cls(values_from_spec(view.spec), edit=view)

    def action_back(self) -> None:
        """Leave; ask first if something was typed."""
        if self.values() == self.initial:
            self.dismiss(None)
            return

        def answered(discard: bool | None) -> None:
            if discard:
                self.dismiss(None)

        self.app.push_screen(
            ConfirmModal(
                f"Discard your changes to {self.edit.name}?"
                if self.edit
                else "Discard this deployment?",
                "What you typed in the form is lost.",
                confirm_label="Discard",
            ),
            answered,
        )
