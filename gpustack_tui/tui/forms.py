"""The deploy form's values and their validation, without any widget.

Every rule comes from `DeploymentSpec` and `parse_env_items`, so the form, the API and the CLI
refuse the same things with the same words. Errors are keyed by the form field to focus.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import ValidationError

from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.env import parse_env_items

FIELD_ORDER = (
    "local_path",
    "name",
    "cluster",
    "backend",
    "replicas",
    "command",
    "env",
    "vram_claim_gib",
)
"""Form fields top to bottom: the first one in error gets the focus."""

_LOC_TO_FIELD = {
    ("source",): "local_path",
    ("name",): "name",
    ("cluster",): "cluster",
    ("backend",): "backend",
    ("replicas",): "replicas",
    ("advanced", "command"): "command",
    ("advanced", "env"): "env",
    ("advanced", "vram_claim_gib"): "vram_claim_gib",
}


@dataclass
class DeployFormValues:
    """What the operator typed, as text, exactly as the widgets hold it."""

    local_path: str = ""
    name: str = ""
    cluster: str = "default"
    backend: str = "custom"
    replicas: str = "1"
    command: str = ""
    env: str = ""
    vram_claim_gib: str = ""
    allow_cpu: bool = False
    generic_proxy: bool = False


class FormErrors(Exception):
    """One message per field in error, in form order."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = {f: errors[f] for f in FIELD_ORDER if f in errors}
        self.errors.update({f: m for f, m in errors.items() if f not in self.errors})

    @property
    def first_field(self) -> str:
        """The field to focus."""
        return next(iter(self.errors))


def env_lines(text: str) -> list[str]:
    """The KEY=VALUE items of the env box: one per line, blank lines and `#` comments skipped."""
    return [s for line in text.splitlines() if (s := line.strip()) and not s.startswith("#")]


def _clean(message: str) -> str:
    return message.removeprefix("Value error, ")


def _field_for(loc: tuple, message: str) -> str:
    for length in (2, 1):
        if loc[:length] in _LOC_TO_FIELD:
            return _LOC_TO_FIELD[loc[:length]]
    return "command" if "command" in message else "name"


def build_spec(values: DeployFormValues) -> DeploymentSpec:
    """The spec the form describes, or `FormErrors` naming every field to fix."""
    errors: dict[str, str] = {}
    path = values.local_path.strip()
    if not path:
        errors["local_path"] = "give the model's path on the workers (a directory or a .gguf file)"
    if values.backend == "custom" and not values.command.strip():
        # The spec says so too, but only once every other field is valid: say it at once.
        errors["command"] = "the custom backend needs a command line that starts the server"
    replicas: int | None = None
    try:
        replicas = int(values.replicas.strip())
    except ValueError:
        errors["replicas"] = "replicas must be a whole number, 0 or more"
    vram: float | None = None
    if values.vram_claim_gib.strip():
        try:
            vram = float(values.vram_claim_gib.strip())
        except ValueError:
            errors["vram_claim_gib"] = "give a number of GiB, e.g. 12 or 7.5 (or leave it empty)"
    env: dict[str, str] = {}
    try:
        env = parse_env_items(env_lines(values.env))
    except ValueError as exc:
        errors["env"] = str(exc)

    body: dict = {
        "name": values.name.strip(),
        "source": {"local_path": path or None},
        "cluster": values.cluster.strip() or "default",
        "backend": values.backend,
        "advanced": {
            "command": values.command.strip() or None,
            "env": env,
            "vram_claim_gib": vram,
            "allow_cpu_offloading": values.allow_cpu,
            "generic_proxy": values.generic_proxy,
        },
    }
    if replicas is not None:
        body["replicas"] = replicas
    try:
        spec = DeploymentSpec.model_validate(body)
    except ValidationError as exc:
        for err in exc.errors():
            field = _field_for(tuple(err["loc"]), str(err["msg"]))
            errors.setdefault(field, _clean(str(err["msg"])))
        raise FormErrors(errors) from None
    if errors:
        raise FormErrors(errors)
    return spec
