"""The deploy form: a model from a local path, run by the custom backend on the workers.

Validation is `forms.build_spec` (the same rules as the API and the CLI). Every error is shown
under its field and the first field in error gets the focus; an error from the server is shown
at the top, and everything typed stays.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widget import Widget
from textual.widgets import (
    Button,
    Checkbox,
    Footer,
    Input,
    Label,
    RadioButton,
    RadioSet,
    Static,
    TextArea,
)

from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.tui.forms import FIELD_ORDER, DeployFormValues, FormErrors, build_spec
from gpustack_tui.tui.messages import RequestDone, RequestFailed
from gpustack_tui.tui.screens.base import ClientScreen
from gpustack_tui.tui.screens.confirm import ConfirmModal
from gpustack_tui.tui.widgets.status_line import StatusLine
from gpustack_tui.tui.widgets.title_bar import TitleBar

NOT_YET = "not supported yet"
SOURCES = (
    ("local_path", "Local path", True),
    ("huggingface", "Hugging Face", False),
    ("modelscope", "ModelScope", False),
)
BACKENDS = (
    ("custom", "Custom (your command line)", True),
    ("vllm", "vLLM", False),
    ("sglang", "SGLang", False),
    ("mindie", "MindIE", False),
    ("voxbox", "VoxBox", False),
)
FIELD_OF_CODE = {"exists": "name", "model_path_missing": "local_path"}
"""Server error codes that belong to one field of the form."""
COMMAND_EXAMPLE = "python -m my_server --model {model_path} --port {port} --name {model_name}"


def _field(field_id: str, label: str, widget: Widget, hint: str = "") -> Horizontal:
    """A row: the label on the left; the widget, its hint and its error on the right."""
    parts: list[Widget] = [widget]
    if hint:
        parts.append(Static(hint, classes="hint", markup=False))
    parts.append(Static("", id=f"{field_id}-error", classes="field-error", markup=False))
    return Horizontal(Label(label), Vertical(*parts), id=f"field-{field_id}", classes="field")


def _choices(set_id: str, options: tuple[tuple[str, str, bool], ...]) -> RadioSet:
    buttons = [
        RadioButton(
            label if enabled else f"{label} ({NOT_YET})",
            value=enabled and n == 0,
            id=f"{set_id}-{key}",
            disabled=not enabled,
        )
        for n, (key, label, enabled) in enumerate(options)
    ]
    return RadioSet(*buttons, id=set_id, compact=True)


class DeployFormScreen(ClientScreen):
    """Dismisses with the created `DeploymentView`, or None when left without deploying."""

    BINDINGS = [
        Binding("ctrl+s", "submit", "Deploy", id="form.submit"),
        Binding("escape", "back", "Cancel", id="back"),
    ]

    def __init__(self, initial: DeployFormValues | None = None) -> None:
        super().__init__()
        self.initial = initial or DeployFormValues()
        self.submitting = False

    def compose(self) -> ComposeResult:
        """Every field, top to bottom, in one scrollable column."""
        v = self.initial
        yield TitleBar("New deployment", self.client.base_url)
        with VerticalScroll(id="form"):
            yield Static("", id="form-error", markup=False)
            yield _field("source", "Source", _choices("source", SOURCES))
            yield _field(
                "local_path",
                "Model path",
                Input(
                    compact=True,
                    value=v.local_path,
                    id="local_path",
                    placeholder="/models/Qwen2.5-0.5B-Instruct",
                ),
                "a model directory or a .gguf file; it must exist on the worker that runs it",
            )
            yield _field(
                "name",
                "Name",
                Input(compact=True, value=v.name, id="name", placeholder="qwen-small"),
                "lowercase letters, digits, '-' and '.'; clients ask for this model name",
            )
            yield _field("cluster", "Cluster", Input(compact=True, value=v.cluster, id="cluster"))
            yield _field("backend", "Backend", _choices("backend", BACKENDS))
            yield _field(
                "replicas",
                "Replicas",
                Input(compact=True, value=v.replicas, id="replicas", type="integer"),
            )
            yield _field(
                "command",
                "Command",
                Input(compact=True, value=v.command, id="command", placeholder=COMMAND_EXAMPLE),
                "placeholders: {model_path} {port} {model_name}",
            )
            env = TextArea(
                v.env, id="env", show_line_numbers=False, tab_behavior="focus", compact=True
            )
            yield _field("env", "Environment", env, "KEY=VALUE, one per line")
            yield _field(
                "vram_claim_gib",
                "GPU memory claim per GPU (GiB, optional)",
                Input(
                    v.vram_claim_gib,
                    id="vram_claim_gib",
                    type="number",
                    placeholder="empty: derived from the model's size on disk",
                ),
            )
            with Horizontal(classes="field"):
                yield Label("Options")
                yield Checkbox("Allow CPU offloading", v.allow_cpu, id="allow_cpu")
                yield Checkbox(
                    "Generic proxy (/model/proxy/<name>/...)", v.generic_proxy, id="generic_proxy"
                )
            with Horizontal(id="form-buttons"):
                yield Button("Cancel", id="cancel")
                yield Button("Deploy", id="submit", variant="primary")
        yield StatusLine("ctrl+s deploys; escape leaves the form", id="status")
        yield Footer()

    def on_mount(self) -> None:
        """Start in the model path."""
        self.query_one("#local_path", Input).focus()

    # -- reading the form -------------------------------------------------------------------

    def values(self) -> DeployFormValues:
        """What the widgets hold now."""
        pressed = self.query_one("#backend", RadioSet).pressed_button
        backend = (pressed.id or "") if pressed else ""
        return DeployFormValues(
            local_path=self.query_one("#local_path", Input).value,
            name=self.query_one("#name", Input).value,
            cluster=self.query_one("#cluster", Input).value,
            backend=backend.removeprefix("backend-") or "custom",
            replicas=self.query_one("#replicas", Input).value,
            command=self.query_one("#command", Input).value,
            env=self.query_one("#env", TextArea).text,
            vram_claim_gib=self.query_one("#vram_claim_gib", Input).value,
            allow_cpu=self.query_one("#allow_cpu", Checkbox).value,
            generic_proxy=self.query_one("#generic_proxy", Checkbox).value,
        )

    def show_errors(self, errors: dict[str, str]) -> None:
        """Put each message under its field (clearing the others) and focus the first one."""
        for field in FIELD_ORDER:
            message = errors.get(field, "")
            error = self.query_one(f"#{field}-error", Static)
            error.update(message)
            error.display = bool(message)
            self.query_one(f"#field-{field}").set_class(bool(message), "-invalid")
        if errors:
            first = next(iter(errors))
            target = self.query_one(f"#{first}")
            target.focus()
            target.scroll_visible(animate=False)

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
        self.request(
            f"creating {spec.name}",
            lambda: self.client.create_deployment(spec),
            f"created {spec.name}",
        )

    def request_succeeded(self, message: RequestDone) -> None:
        """Created: back to the deployments with the new one."""
        self.submitting = False
        result = message.result
        self.dismiss(result if isinstance(result, DeploymentView) else None)

    def request_failed(self, message: RequestFailed) -> None:
        """Refused: say why at the top, keep everything typed."""
        self.submitting = False
        self.query_one("#submit", Button).disabled = False
        error = message.error
        text = f"The server refused the deployment: {error.message}"
        self.query_one("#form-error", Static).update(text)
        self.status.error(f"{text} (fix it and press ctrl+s again)")
        field = str(error.details.get("field", "")) or FIELD_OF_CODE.get(error.code, "")
        if field in FIELD_ORDER:
            self.show_errors({field: error.message})
        self.query_one("#form", VerticalScroll).scroll_home(animate=False)

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
                "Discard this deployment?",
                "What you typed in the form is lost.",
                confirm_label="Discard",
            ),
            answered,
        )
