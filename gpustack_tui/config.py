"""Where an installation keeps its state, and how clients find its server.

One installation = one data dir. `--data-dir` (or GPUSTACK_TUI_DATA_DIR) puts everything of an
installation - state, token, known hosts, logs, the running server's address - under one folder,
so that tests and demos never touch the user's own. Without it, platformdirs' per-user folders.
Every process of an installation (TUI, CLI, the server the launcher starts) resolves the same
folders: the launcher passes `--data-dir` on exactly when it was given one (`Paths.root`).
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import platformdirs

APP_NAME = "gpustack-tui"
DATA_DIR_ENV = "GPUSTACK_TUI_DATA_DIR"
SERVER_URL_ENV = "GPUSTACK_TUI_SERVER"
DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 9190

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Paths:
    """The files of one installation."""

    data_dir: Path
    config_dir: Path
    state_dir: Path
    root: Path | None = None
    """The one folder holding everything, when the installation was chosen by `--data-dir` or
    GPUSTACK_TUI_DATA_DIR; None for the user's default (platformdirs' three folders)."""

    def server_args(self) -> list[str]:
        """The options that make a `gpustack-tui server` resolve this same installation."""
        return ["--data-dir", str(self.root)] if self.root is not None else []

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
    def image_settings_file(self) -> Path:
        """The installation's image mirrors (`[mirrors]`, see server/state/image_settings.py)."""
        return self.config_dir / "images.toml"

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
        return single_folder(root)
    paths = Paths(
        data_dir=Path(platformdirs.user_data_dir(APP_NAME, appauthor=False)),
        config_dir=Path(platformdirs.user_config_dir(APP_NAME, appauthor=False)),
        state_dir=Path(platformdirs.user_state_dir(APP_NAME, appauthor=False)),
    )
    adopt_misplaced(paths)
    return paths


def single_folder(root: Path) -> Paths:
    """An installation kept entirely under `root` (what `--data-dir` chooses)."""
    return Paths(data_dir=root, config_dir=root / "config", state_dir=root / "state", root=root)


def adopt_misplaced(paths: Paths) -> list[Path]:
    """Move into the default installation's config and state folders what an earlier launcher
    left under its data folder (it started the server with `--data-dir <data folder>`, so the
    token, known hosts and server address went to `<data folder>/config` and `/state`). A file
    already in its right place wins; nothing is deleted. Returns the files moved."""
    misplaced = single_folder(paths.data_dir)
    moved: list[Path] = []
    for wrong, right in (
        (misplaced.config_dir, paths.config_dir),
        (misplaced.state_dir, paths.state_dir),
    ):
        if wrong == right or not wrong.is_dir():
            continue
        for item in sorted(wrong.iterdir()):
            target = right / item.name
            if target.exists() or not item.is_file():
                continue
            right.mkdir(parents=True, exist_ok=True, mode=0o700)
            try:
                shutil.move(item, target)  # a rename, or a copy across file systems
            except OSError as exc:  # another process moved it first, or a read-only folder
                log.warning("could not move %s to %s: %s", item, target, exc)
                continue
            log.warning("moved %s (left there by an earlier launcher) to %s", item, target)
            moved.append(target)
    return moved


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
