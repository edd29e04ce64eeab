"""Where an installation keeps its state, and how clients find its server.

One installation = one data dir. `--data-dir` (or GPUSTACK_TUI_DATA_DIR) puts everything of an
installation - state, token, known hosts, logs, the running server's address - under one folder,
so that tests and demos never touch the user's own. Without it, platformdirs' per-user folders.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "gpustack-tui"
DATA_DIR_ENV = "GPUSTACK_TUI_DATA_DIR"
SERVER_URL_ENV = "GPUSTACK_TUI_SERVER"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9190


@dataclass(frozen=True)
class Paths:
    """The files of one installation."""

    data_dir: Path
    config_dir: Path
    state_dir: Path

    @property
    def database(self) -> Path:
        """The SQLite state file (only the server opens it)."""
        return self.data_dir / "state.db"

    @property
    def token_file(self) -> Path:
        """The management API token, mode 0600."""
        return self.config_dir / "token"

    @property
    def known_hosts(self) -> Path:
        """SSH host keys the user accepted for workers."""
        return self.config_dir / "known_hosts"

    @property
    def server_file(self) -> Path:
        """Written by a running server: its URL and pid."""
        return self.state_dir / "server.json"

    @property
    def server_log(self) -> Path:
        """Where a server started in the background writes its log."""
        return self.state_dir / "server.log"

    @property
    def keymap_file(self) -> Path:
        """The TUI's key remapping: binding id -> key(s) (see tui/keymap.py)."""
        return self.config_dir / "keymap.toml"

    @property
    def tui_settings_file(self) -> Path:
        """The TUI's settings, e.g. `theme = "nord"`."""
        return self.config_dir / "tui.toml"

    @property
    def local_agent_home(self) -> Path:
        """The agent home of the head node's own worker (`local`)."""
        return self.data_dir / "local-agent"

    def ensure(self) -> Paths:
        """Create the folders (private to the user) and return self."""
        for folder in (self.data_dir, self.config_dir, self.state_dir):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self


def resolve_paths(data_dir: str | Path | None = None) -> Paths:
    """The installation selected by `data_dir`, GPUSTACK_TUI_DATA_DIR, or the user's default."""
    chosen = data_dir or os.environ.get(DATA_DIR_ENV)
    if chosen:
        root = Path(chosen).expanduser().resolve()
        return Paths(data_dir=root, config_dir=root / "config", state_dir=root / "state")
    return Paths(
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        state_dir=Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)),
    )


def server_url(paths: Paths, explicit: str | None = None) -> str:
    """The server to talk to: explicit, GPUSTACK_TUI_SERVER, the running server's file, default."""
    if explicit:
        return explicit.rstrip("/")
    if os.environ.get(SERVER_URL_ENV):
        return os.environ[SERVER_URL_ENV].rstrip("/")
    try:
        return str(json.loads(paths.server_file.read_text())["url"]).rstrip("/")
    except (OSError, ValueError, KeyError, TypeError):
        return f"http://{DEFAULT_HOST}:{DEFAULT_PORT}"


def read_token(paths: Paths) -> str | None:
    """The management token of this installation, or None before the server's first start."""
    try:
        return paths.token_file.read_text().strip() or None
    except OSError:
        return None
