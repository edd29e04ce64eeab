"""The README's first command, as a newcomer types it: install into an empty HOME, with no data
dir chosen, then drive the installed `gpustack-tui` in a real terminal (tmux) and from the
shell. The TUI starts the server, which offers this machine as the worker `local`; `ls`,
`workers ls`, `server status` and `server stop` reach the same installation; a second launch
finds the running server.

The default installation listens on the default port (9190): the test needs it free.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from gpustack_tui.config import DEFAULT_PORT
from tests.fixtures.agent_home import purge_agent_home
from tests.fixtures.waiting import wait_until

REPO = Path(__file__).resolve().parent.parent
INSTALL_SECONDS = 300  # a virtual environment and every package; more on a cold package cache


def readme_install_command() -> tuple[str, str]:
    """The README's install-and-launch line, split at `&&`: (install, launch)."""
    readme = (REPO / "README.md").read_text()
    block = re.search(r"```sh\n(.*?)\n```", readme, re.S)
    assert block, "the README starts with a sh block holding the two commands"
    first = block.group(1).splitlines()[0].split("#")[0].strip()
    install, _, launch = first.partition("&&")
    assert install.strip() == "bash scripts/install.sh", first
    return install.strip(), launch.strip()


def port_is_free(port: int) -> bool:
    """Whether nothing listens on 127.0.0.1:`port`."""
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


class Shell:
    """Commands run as the newcomer would, in their (empty) HOME, with no gpustack variable."""

    def __init__(self, home: Path) -> None:
        self.home = home
        keep = {"PATH", "LANG", "LC_ALL", "TERM", "TMPDIR"}
        self.env = {k: v for k, v in os.environ.items() if k in keep}
        self.env["HOME"] = str(home)
        # The package cache is not part of an installation; sharing it only saves downloads.
        self.env["PIP_CACHE_DIR"] = str(Path.home() / ".cache" / "pip")
        self.env.setdefault("TERM", "xterm-256color")

    def run(self, command: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        """`command` through bash in the repository, as typed."""
        return subprocess.run(
            ["bash", "-c", command],
            cwd=REPO,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def gpustack(self, *words: str) -> subprocess.CompletedProcess[str]:
        """The installed command, as the README names it."""
        return self.run(" ".join(["~/.local/bin/gpustack-tui", *words]))


class Terminal:
    """A tmux pane (a private tmux server) running a command."""

    def __init__(self, shell: Shell) -> None:
        self.shell = shell
        self.socket = f"gpustack-test-{uuid.uuid4().hex[:8]}"

    def tmux(self, *args: str, check: bool = False) -> str:
        """Run a tmux command on this terminal's server; its output."""
        done = subprocess.run(
            ["tmux", "-L", self.socket, "-f", "/dev/null", *args],
            env=self.shell.env,
            capture_output=True,
            text=True,
            timeout=10,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"tmux {args[0]} failed: {done.stderr}")
        return done.stdout

    def start(self, command: str) -> None:
        """Open a 120x36 pane running `command` in the repository folder."""
        self.tmux(
            "new-session", "-d", "-x", "120", "-y", "36", "-c", str(REPO), command, check=True
        )

    def screen(self) -> str:
        """What the pane shows now."""
        return self.tmux("capture-pane", "-p")

    def wait_for(self, what: str, check: Callable[[str], object], timeout: float) -> None:
        """Wait until `check(screen)` holds; the failure shows the last screen."""
        try:
            wait_until(what, lambda: check(self.screen()), timeout=timeout)
        except AssertionError as exc:
            raise AssertionError(f"{exc}; the screen:\n{self.screen()}") from None

    def keys(self, *keys: str) -> None:
        """Type `keys` (tmux key names)."""
        self.tmux("send-keys", *keys)

    def close(self) -> None:
        """End the pane and its server."""
        self.tmux("kill-server")


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[Shell]:
    """An empty HOME; at the end, the installation's server stopped and its workloads gone."""
    if not port_is_free(DEFAULT_PORT):
        pytest.fail(f"port {DEFAULT_PORT} is taken: the default installation needs it")
    home = tmp_path / "home"
    home.mkdir()
    newcomer = Shell(home)
    yield newcomer
    newcomer.gpustack("server", "stop")
    purge_agent_home(home / ".local/share/gpustack-tui/local-agent")


def test_the_readme_install_and_launch_work_in_an_empty_home(shell: Shell) -> None:
    install, launch = readme_install_command()
    installed = shell.run(install, timeout=INSTALL_SECONDS)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    assert (shell.home / ".local/bin/gpustack-tui").exists()

    terminal = Terminal(shell)
    try:
        terminal.start(launch)
        terminal.wait_for(
            "the TUI to start the server",
            lambda screen: "started a server in the background" in screen,
            timeout=60,
        )
        terminal.keys("w")
        terminal.wait_for(
            "the worker `local`, ready, in the workers view",
            lambda screen: re.search(r"\blocal\b.*ready", screen),
            timeout=60,
        )
        assert "token" not in terminal.screen()

        listed = shell.gpustack("workers", "ls")
        assert listed.returncode == 0 and re.search(r"\blocal\b", listed.stdout), listed
        empty = shell.gpustack("ls")
        assert empty.returncode == 0, empty.stderr
        status = shell.gpustack("server", "status")
        assert status.returncode == 0 and "running at http://127.0.0.1:9190" in status.stdout
        assert "refused" not in status.stdout, status.stdout

        terminal.keys("C-q")  # quit from any view (escape then q would read as alt+q)
        terminal.wait_for(
            "the TUI to quit", lambda screen: "gpustack-tui" not in screen, timeout=20
        )
        terminal.close()
        terminal.start(launch)  # again: it finds the server that kept running
        terminal.wait_for(
            "the deployments view",
            lambda screen: "Deployments" in screen and "retrying" not in screen,
            timeout=60,
        )
        assert "started a server" not in terminal.screen()
    finally:
        terminal.close()

    stopped = shell.gpustack("server", "stop")
    assert stopped.returncode == 0, stopped.stderr
    wait_until("the port to be free", lambda: port_is_free(DEFAULT_PORT), timeout=20)
    after = shell.gpustack("server", "status")
    assert after.returncode == 1 and "no server answers at http://127.0.0.1:9190" in after.stderr
