"""Backends defined by users: an image (or a process), a command template, versions.

A deployment names one in `backend`; the server keeps them and checks that name, since the
domain cannot know which names are stored.
"""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from gpustack_tui.domain.command import split_command
from gpustack_tui.domain.deployment import BUILTIN_BACKENDS, NAME_PATTERN
from gpustack_tui.domain.env import validate_env

PLACEHOLDER_NAMES = ("model_path", "port", "model_name", "gpu_ids", "worker_ip")
# `{name}`, or GPUStack's `{{name}}`: both are the placeholder `name`. JSON such as `{"a": 1}`
# is not an identifier in braces, so it is left alone.
PLACEHOLDER = re.compile(r"\{\{([A-Za-z_][A-Za-z0-9_]*)\}\}|\{([A-Za-z_][A-Za-z0-9_]*)\}")
IMAGE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:@+-]{0,254}$")
VERSION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,63}$")
HEALTH_PATH = re.compile(r"^/[A-Za-z0-9._~!$&'()*+,;=:@%/?-]{0,255}$")


class UnknownVersion(ValueError):
    """A version the backend does not define; the message lists the ones it does."""


def placeholders_in(command: str) -> list[str]:
    """The placeholder names used in `command`, in order of first use."""
    found: list[str] = []
    for match in PLACEHOLDER.finditer(command):
        name = match.group(1) or match.group(2)
        if name not in found:
            found.append(name)
    return found


def check_command(command: str, where: str = "command") -> str:
    """A command template that splits and uses only known placeholders; ValueError naming the
    unknown ones (and the known ones) otherwise."""
    if not command.strip():
        raise ValueError(f"{where} is empty: give the command line that starts the server")
    bad = sorted({c for c in command if (ord(c) < 32 and c not in "\t\n") or ord(c) == 127})
    if bad:
        shown = ", ".join(repr(c) for c in bad)
        raise ValueError(f"{where} contains control character(s) {shown}: remove them")
    split_command(command)
    unknown = [n for n in placeholders_in(command) if n not in PLACEHOLDER_NAMES]
    if unknown:
        listed = ", ".join("{" + n + "}" for n in unknown)
        known = ", ".join("{" + n + "}" for n in PLACEHOLDER_NAMES)
        raise ValueError(f"{where} uses unknown placeholder(s) {listed}: known are {known}")
    return command


def fill_placeholders(text: str, values: dict[str, str]) -> str:
    """`text` with each `{name}` / `{{name}}` of `values` replaced (others left as they are)."""

    def replace(match: re.Match[str]) -> str:
        name = match.group(1) or match.group(2)
        return values.get(name, match.group(0))

    return PLACEHOLDER.sub(replace, text)


def _check_image(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    if not value:
        return None
    if not IMAGE_PATTERN.match(value):
        raise ValueError(
            f"image {value[:80]!r} is not an image reference: use e.g. "
            "ghcr.io/ggml-org/llama.cpp:server (no spaces)"
        )
    return value


class _Strict(BaseModel):
    """Unknown keys are refused, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


class UserBackendVersion(_Strict):
    """One version of a user backend; its image and command replace the backend's when set."""

    version: str
    image: str | None = None
    command: str | None = None

    @field_validator("version")
    @classmethod
    def _version(cls, value: str) -> str:
        if not VERSION_PATTERN.match(value) or value == "auto":
            raise ValueError(
                f"version {value[:40]!r} must be 1-64 letters, digits, '.', '_', '+' or '-' "
                "(and not 'auto')"
            )
        return value

    @field_validator("image")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        return _check_image(value)

    @field_validator("command")
    @classmethod
    def _command(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        return check_command(value)


class UserBackend(_Strict):
    """A backend defined by a user: what to run (image or process), how, and what it can do."""

    name: str
    image: str | None = Field(None, description="Container image; none runs a process.")
    command: str = Field(
        description="Command template; placeholders {model_path} {port} {model_name} "
        "{gpu_ids} {worker_ip}."
    )
    health_path: str | None = Field(None, description="GET path that answers 200 when ready.")
    versions: list[UserBackendVersion] = Field(default_factory=list)
    default_version: str | None = None
    env: dict[str, str] = Field(default_factory=dict)
    cpu_offloading: bool = False
    description: str = Field("", max_length=300)

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if value in BUILTIN_BACKENDS:
            raise ValueError(f"{value!r} is a built-in backend: choose another name")
        if not NAME_PATTERN.match(value):
            raise ValueError(
                "name must be 1-63 lowercase letters, digits, '-' or '.', "
                "starting and ending with a letter or digit"
            )
        return value

    @field_validator("image")
    @classmethod
    def _image(cls, value: str | None) -> str | None:
        return _check_image(value)

    @field_validator("command")
    @classmethod
    def _command(cls, value: str) -> str:
        return check_command(value)

    @field_validator("health_path")
    @classmethod
    def _health(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        if not HEALTH_PATH.match(value.strip()):
            raise ValueError(f"health path {value[:60]!r} must start with '/' and have no spaces")
        return value.strip()

    @field_validator("env")
    @classmethod
    def _env(cls, value: dict[str, str]) -> dict[str, str]:
        validate_env(value)
        return value

    @model_validator(mode="after")
    def _versions(self) -> UserBackend:
        names = [v.version for v in self.versions]
        twice = sorted({n for n in names if names.count(n) > 1})
        if twice:
            raise ValueError(f"version(s) {', '.join(twice)} listed more than once")
        if self.default_version in ("", "auto"):
            self.default_version = None
        if self.default_version is not None and self.default_version not in names:
            known = ", ".join(names) or "none defined"
            raise ValueError(
                f"default_version {self.default_version!r} is not among the versions ({known})"
            )
        if self.default_version is None and names:
            self.default_version = names[0]
        return self

    def version_names(self) -> list[str]:
        """The versions, as listed."""
        return [v.version for v in self.versions]

    def resolve(self, wanted: str = "auto") -> tuple[str | None, str, str | None]:
        """(version name, command, image) for `wanted` (`auto`/empty: the default version);
        UnknownVersion naming the known versions when it has no such version."""
        name = self.default_version if wanted in ("", "auto") else wanted
        if name is None:
            return None, self.command, self.image
        for version in self.versions:
            if version.version == name:
                return name, version.command or self.command, version.image or self.image
        known = ", ".join(self.version_names()) or "none: leave backend_version as auto"
        raise UnknownVersion(f"backend {self.name!r} has no version {name!r} (known: {known})")
