"""Environment-variable rules for deployments (names, the KEY=VALUE form)."""

from __future__ import annotations

import re

ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def validate_env(env: dict[str, str]) -> None:
    """Raise ValueError naming the first variable whose name a shell would not accept."""
    for name in env:
        if not ENV_NAME.match(name):
            raise ValueError(
                f"environment variable name {name!r} is invalid: use letters, digits and '_', "
                "not starting with a digit"
            )


def parse_env_items(items: list[str]) -> dict[str, str]:
    """Turn ["K=V", ...] into a dict, raising ValueError that names the malformed item."""
    env: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name:
            raise ValueError(f"environment variable {item!r} must look like NAME=VALUE")
        env[name] = value
    validate_env(env)
    return env
