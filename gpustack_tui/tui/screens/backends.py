"""Backends: the built-in ones (read only) and those users define: list, add, remove."""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, DataTable, Input, Label, Static

from gpustack_tui.backends.catalog import BUILTIN
from gpustack_tui.domain.env import parse_env_items
from gpustack_tui.domain.user_backend import PLACEHOLDER_NAMES, UserBackend
from gpustack_tui.tui.presentation import one_line
from gpustack_tui.tui.screens.base import ServerScreen
from gpustack_tui.tui.screens.confirm import ConfirmModal
from gpustack_tui.tui.widgets.key_footer import KeyFooter
from gpustack_tui.tui.widgets.keyed_table import KeyedTable, TableRow
from gpustack_tui.tui.widgets.status_line import StatusLine
from gpustack_tui.tui.widgets.title_bar import TitleBar

BACKEND_COLUMNS = (
    ("name", "NAME"),
    ("kind", "KIND"),
    ("versions", "VERSION"),
    ("health", "HEALTH"),
    ("cpu", "OFFLOAD"),
    ("image", "IMAGE / COMMAND"),
)
"""The table keeps to 80 columns: the default version and how many more; the line under the
table has every version, image and command of the selected backend."""
FIELDS = ("name", "image", "command", "health", "versions", "default", "env")


def _versions(names: list[str], default: str | None) -> str:
    return ", ".join(f"{n}*" if n == default else n for n in names) or "-"


def _default_and_more(names: list[str], default: str | None) -> str:
    shown = default or (names[0] if names else None)
    if shown is None:
        return "-"
    more = len(names) - 1
    return f"{shown}{'*' if default else ''}" + (f" +{more}" if more > 0 else "")


def backend_rows(users: list[UserBackend]) -> list[TableRow]:
    """The built-in backends, then the users' by name (* marks the default version)."""
    rows = []
    for entry in BUILTIN.values():
        images = list(entry.default_version.images.values())
        names = [v.version for v in entry.versions]
        rows.append(
            TableRow(
                f"builtin:{entry.name}",
                (
                    entry.name,
                    "built-in",
                    _default_and_more(names, entry.default_version.version),
                    entry.health_path,
                    "yes" if entry.cpu_offloading else "no",
                    images[0] if images else "-",
                ),
            )
        )
    for backend in users:
        where = backend.image or "process"
        rows.append(
            TableRow(
                f"user:{backend.name}",
                (
                    one_line(backend.name),
                    "user",
                    one_line(_default_and_more(backend.version_names(), backend.default_version)),
                    one_line(backend.health_path or "-"),
                    "yes" if backend.cpu_offloading else "no",
                    one_line(f"{where}: {backend.command}", 120),
                ),
            )
        )
    return rows


def backend_detail(key: str | None, users: dict[str, UserBackend]) -> str:
    """Everything the table shortens about the backend of row `key`, on one line."""
    kind, _, name = (key or "").partition(":")
    if kind == "builtin" and name in BUILTIN:
        entry = BUILTIN[name]
        default = entry.default_version
        names = [v.version for v in entry.versions]
        images = ", ".join(f"{family} {image}" for family, image in default.images.items())
        return (
            f"{name} (built-in): versions {_versions(names, default.version)} (* default);"
            f" images of {default.version}: {images or '-'}"
        )
    backend = users.get(name) if kind == "user" else None
    if backend is None:
        return ""
    where = f"image {backend.image}" if backend.image else "a process"
    versions = _versions(backend.version_names(), backend.default_version)
    return one_line(f"{name} (user): versions {versions}; runs {where}: {backend.command}", 400)


@dataclass(frozen=True)
class BackendForm:
    """The add form's fields as typed."""

    name: str
    image: str = ""
    command: str = ""
    health: str = ""
    versions: str = ""
    default: str = ""
    env: str = ""
    cpu_offloading: bool = False


def parse_backend_form(form: BackendForm) -> UserBackend:
    """The backend the form describes, checked as the server will; ValueError saying what to fix
    (the field first). Versions are `VERSION` or `VERSION=IMAGE`, env `NAME=VALUE`, both
    separated by spaces."""
    try:
        env = parse_env_items(form.env.split())
    except ValueError as exc:
        raise ValueError(f"env: {exc}") from None
    versions = []
    for item in form.versions.replace(",", " ").split():
        name, _, image = item.partition("=")
        versions.append({"version": name, **({"image": image} if image else {})})
    data = {
        "name": form.name.strip(),
        "image": form.image.strip() or None,
        "command": form.command,
        "health_path": form.health.strip() or None,
        "versions": versions,
        "default_version": form.default.strip() or None,
        "env": env,
        "cpu_offloading": form.cpu_offloading,
    }
    try:
        return UserBackend.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first["loc"]) or "backend"
        raise ValueError(f"{field}: {str(first['msg']).removeprefix('Value error, ')}") from None


class AddBackendModal(ModalScreen[UserBackend | None]):
    """The fields of a new backend; dismisses with it (checked), or None when cancelled."""

    DEFAULT_CSS = """
    AddBackendModal {
        align: center middle;
    }
    AddBackendModal > Vertical {
        width: 96;
        height: auto;
        max-height: 95%;
        border: thick $accent;
        background: $surface;
        padding: 1 2;
    }
    AddBackendModal .hint {
        color: $text-muted;
    }
    AddBackendModal .error {
        color: $error;
        height: auto;
    }
    AddBackendModal Horizontal {
        height: auto;
        margin-top: 1;
        align-horizontal: right;
    }
    AddBackendModal Button {
        margin-left: 2;
    }
    """
    BINDINGS = [Binding("escape", "cancel", "Cancel", id="back")]

    def compose(self) -> ComposeResult:
        """The fields, a hint on placeholders, the error line, the buttons."""
        placeholders = " ".join("{" + n + "}" for n in PLACEHOLDER_NAMES)
        with Vertical():
            yield Label("New backend")
            yield Input(id="backend-name", placeholder="name, e.g. llama-cpp")
            yield Input(id="backend-image", placeholder="image (empty: run as a process)")
            yield Input(id="backend-command", placeholder="command template")
            yield Static(f"placeholders: {placeholders}", classes="hint", markup=False)
            yield Input(id="backend-health", placeholder="health path, e.g. /v1/models (empty)")
            yield Input(id="backend-versions", placeholder="versions: VERSION[=IMAGE] ...")
            yield Input(id="backend-default", placeholder="default version (empty: the first)")
            yield Input(id="backend-env", placeholder="env: NAME=VALUE ...")
            yield Checkbox("can offload to the CPU", id="backend-cpu")
            yield Static("", id="backend-error", classes="error", markup=False)
            with Horizontal():
                yield Button("Cancel", id="cancel")
                yield Button("Add", id="add", variant="primary")

    def on_mount(self) -> None:
        """Focus the name."""
        self.query_one("#backend-name", Input).focus()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        """Enter adds."""
        event.stop()
        self._submit()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Add or cancel."""
        event.stop()
        if event.button.id == "add":
            self._submit()
        else:
            self.dismiss(None)

    def form(self) -> BackendForm:
        """What is typed now."""
        values = {f: self.query_one(f"#backend-{f}", Input).value for f in FIELDS}
        cpu = self.query_one("#backend-cpu", Checkbox).value
        return BackendForm(**values, cpu_offloading=cpu)

    def _submit(self) -> None:
        try:
            self.dismiss(parse_backend_form(self.form()))
        except ValueError as exc:
            self.query_one("#backend-error", Static).update(str(exc))

    def action_cancel(self) -> None:
        """Leave without adding."""
        self.dismiss(None)


class BackendsScreen(ServerScreen):
    """The backends table; `n` adds a backend, `d` removes the selected user backend."""

    BINDINGS = [
        Binding("n", "add", "New backend", id="backends.add"),
        Binding("d,ctrl+d", "remove", "Remove", id="backends.remove"),
        Binding("r", "refresh", "Refresh", id="backends.refresh"),
        Binding("escape", "back", "Back", id="back"),
        Binding("q", "app.quit", "Quit", id="quit"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.users: dict[str, UserBackend] = {}

    def compose(self) -> ComposeResult:
        """Title, table, status line, key hints."""
        yield TitleBar("Backends", self.client.base_url)
        yield KeyedTable(BACKEND_COLUMNS, flex="image", id="backends")
        yield Static(id="detail", markup=False)
        yield StatusLine(id="status")
        yield KeyFooter()

    @property
    def table(self) -> KeyedTable:
        """The backends table."""
        return self.query_one("#backends", KeyedTable)

    def fetch(self) -> list[UserBackend]:
        """The user backends (thread)."""
        return self.client.list_backends()

    def show_data(self, data: list[UserBackend]) -> None:
        """Update the rows in place."""
        self.users = {b.name: b for b in data}
        self.table.sync(backend_rows(data))
        self.show_detail()
        self.query_one(TitleBar).set_view(f"Backends[{len(BUILTIN) + len(data)}]")
        if not data and not self.failing and not self.status.message:
            self.status.show("no user backends yet: press n to define one (image or process)")

    def selected(self) -> str | None:
        """The row key under the cursor."""
        return self.table.cursor_key

    def show_detail(self) -> None:
        """Every version, image and command of the selected backend, under the table."""
        self.query_one("#detail", Static).update(backend_detail(self.selected(), self.users))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        """The cursor moved: show the new row's details."""
        event.stop()
        self.show_detail()

    def action_add(self) -> None:
        """Ask for the new backend, then add it."""

        def answered(backend: UserBackend | None) -> None:
            if backend is not None:
                self.request(
                    f"adding backend {backend.name}",
                    lambda: self.client.add_backend(backend),
                    f"added backend {backend.name}: deployments may name it in Backend",
                )

        self.app.push_screen(AddBackendModal(), answered)

    def action_remove(self) -> None:
        """Remove the selected user backend, after confirmation (built-in ones stay)."""
        key = self.selected() or ""
        if not key.startswith("user:"):
            what = "built-in backends cannot be removed" if key else "no backend selected"
            self.status.error(f"{what}: select a user backend, or press n to define one")
            return
        name = key.removeprefix("user:")

        def answered(yes: bool | None) -> None:
            if yes:
                self.request(
                    f"removing backend {name}",
                    lambda: self.client.delete_backend(name),
                    f"removed backend {name}",
                )

        self.app.push_screen(
            ConfirmModal(
                f"Remove backend {name}?",
                "Refused while deployments use it: the server names them.",
                confirm_label="Remove",
            ),
            answered,
        )
