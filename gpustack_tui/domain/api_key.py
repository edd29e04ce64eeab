"""API keys for the inference routes, as the management API and its clients see them."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict, Field, field_validator

KEY_NAME = re.compile(r"^[a-z0-9]([a-z0-9_.-]{0,61}[a-z0-9])?$")


class ApiKeyCreate(BaseModel):
    """Body of POST /api/v1/keys."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(description="A unique name: lowercase letters, digits, '.', '_' and '-'.")
    deployments: list[str] | None = Field(
        default=None,
        description="The deployments this key may use; null or absent means all of them.",
        max_length=256,
    )
    expires_in_days: float | None = Field(
        default=None, gt=0, le=36500, description="Days until the key stops working."
    )

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not KEY_NAME.match(value):
            raise ValueError(
                "use 1-63 lowercase letters, digits, '.', '_' or '-', "
                "starting and ending with a letter or digit"
            )
        return value

    @field_validator("deployments")
    @classmethod
    def _deployments(cls, value: list[str] | None) -> list[str] | None:
        if value is None:
            return None
        names = sorted({v.strip() for v in value})
        if not names or any(not n or len(n) > 128 for n in names):
            raise ValueError("name at least one deployment (1-128 characters each), or omit it")
        return names


class ApiKeyInfo(BaseModel):
    """A stored key, without its secret."""

    id: str
    name: str
    deployments: list[str] | None = None
    """None: every deployment."""
    created_at: float
    expires_at: float | None = None
    last_used_at: float | None = None
    revoked_at: float | None = None

    def state(self, now: float) -> str:
        """`active`, `expired` or `revoked`."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"


class ApiKeyCreated(ApiKeyInfo):
    """The answer to a creation: the only time the full key is shown."""

    key: str
