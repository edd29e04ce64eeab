"""SSH transport against a real sshd and the real agent: upload, errors an operator can act on."""

from __future__ import annotations

import os
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from gpustack_tui.config import Paths
from gpustack_tui.domain.worker import Gpu
from gpustack_tui.server.workers import (
    AgentSetupFailed,
    WorkerAuthFailed,
    WorkerUnreachable,
    open_worker,
)
from gpustack_tui.server.workers.known_hosts import KnownHosts
from gpustack_tui.server.workers.transport import SshTransport
from tests.fixtures.ports import free_port
from tests.fixtures.sshd import GIB, SshdServer


def test_hello_and_inventory_over_ssh(sshd_server: SshdServer, paths: Paths) -> None:
    connection, hello, address = sshd_server.open_trusted(paths)
    with connection:
        assert address == "127.0.0.1"
        assert hello["protocol"] == 1
        assert hello["home"] == str(sshd_server.agent_home)
        inventory = connection.call("inventory")
    gpus = [Gpu(**gpu) for gpu in inventory["gpus"]]
    assert [(g.index, g.memory_total, g.simulated) for g in gpus] == [
        (0, 24 * GIB, True),
        (1, 24 * GIB, True),
    ]
    assert inventory["cpu_count"] >= 1
    assert not connection.alive


@pytest.mark.parametrize(
    "sshd_server", [[{"name": "Simulated H100", "memory_total": 80 * GIB}]], indirect=True
)
def test_simulated_gpus_are_configurable(sshd_server: SshdServer, paths: Paths) -> None:
    connection, _, _ = sshd_server.open_trusted(paths)
    with connection:
        gpus = connection.call("inventory")["gpus"]
    assert [(g["name"], g["memory_total"]) for g in gpus] == [("Simulated H100", 80 * GIB)]


def test_agent_is_uploaded_once(sshd_server: SshdServer, paths: Paths) -> None:
    connection, _, _ = sshd_server.open_trusted(paths)
    transport = connection.transport
    assert isinstance(transport, SshTransport)
    connection.close()
    assert transport.uploaded
    remote = Path(transport.remote_dir)
    assert remote.parent == sshd_server.agent_home / "code"
    marker = remote / "agent" / ".complete"
    assert (remote / "agent" / "__main__.py").is_file()
    assert not list(remote.rglob("*.tmp-*"))
    first_mtime = marker.stat().st_mtime_ns

    connection, hello, _ = sshd_server.open_trusted(paths)
    connection.close()
    assert hello["protocol"] == 1
    assert not connection.transport.uploaded  # type: ignore[attr-defined]
    assert marker.stat().st_mtime_ns == first_mtime

    # An interrupted upload (no marker) is done again.
    marker.unlink()
    connection, _, _ = sshd_server.open_trusted(paths)
    connection.close()
    assert connection.transport.uploaded  # type: ignore[attr-defined]
    assert marker.is_file()


def test_two_workers_each_have_their_agent_home(sshd_factory: Any, paths: Paths) -> None:
    first, second = sshd_factory(), sshd_factory(gpus=[])
    assert first.port != second.port
    for server, count in ((first, 2), (second, 0)):
        connection, hello, _ = server.open_trusted(paths)
        with connection:
            assert hello["home"] == str(server.agent_home)
            assert len(connection.call("inventory")["gpus"]) == count


def test_ssh_config_alias(sshd_server: SshdServer, paths: Paths, tmp_path: Path) -> None:
    config = tmp_path / "ssh_config"
    config.write_text(
        "Host test-gpu\n"
        "  HostName 127.0.0.1\n"
        f"  Port {sshd_server.port}\n"
        f"  User {sshd_server.user}\n"
        f"  IdentityFile {sshd_server.identity_file}\n"
    )
    connection, hello, address = open_worker(
        "test-gpu",
        paths,
        accept_fingerprint=sshd_server.host_key_fingerprint,
        ssh_config_path=config,
        known_hosts=KnownHosts(paths.known_hosts, extra_paths=()),
    )
    connection.close()
    assert (hello["protocol"], address) == (1, "127.0.0.1")


def test_connection_refused_is_quick_and_readable(paths: Paths) -> None:
    port = free_port()
    started = time.monotonic()
    with pytest.raises(WorkerUnreachable) as info:
        open_worker(f"root@127.0.0.1:{port}", paths)
    assert time.monotonic() - started < 3
    assert info.value.code == "unreachable"
    assert info.value.message == (
        f"cannot reach 127.0.0.1:{port}: connection refused — is sshd running there and the "
        "port right?"
    )


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A TCP port that accepts connections but never speaks SSH."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(8)
        yield sock.getsockname()[1]


def test_not_an_ssh_server_times_out_quickly(silent_listener: int, paths: Paths) -> None:
    started = time.monotonic()
    with pytest.raises(WorkerUnreachable) as info:
        open_worker(f"root@127.0.0.1:{silent_listener}", paths, connect_timeout=1)
    assert time.monotonic() - started < 5
    assert "SSH server" in info.value.message or "no answer" in info.value.message


def test_unknown_host_name(paths: Paths) -> None:
    with pytest.raises(WorkerUnreachable, match=r"cannot resolve the host name 'no-such-host\.in"):
        open_worker("root@no-such-host.invalid", paths, connect_timeout=3)


def test_wrong_key_is_auth_failed(sshd_server: SshdServer, paths: Paths, tmp_path: Path) -> None:
    other = tmp_path / "other_key"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other)], check=True)
    with pytest.raises(WorkerAuthFailed) as info:
        sshd_server.open_trusted(paths, identity_file=str(other))
    error = info.value
    assert error.code == "auth_failed"
    assert f"user {sshd_server.user!r}" in error.message
    assert str(other) in error.message
    assert "authorized_keys" in error.message


def test_missing_identity_file(sshd_server: SshdServer, paths: Paths, tmp_path: Path) -> None:
    with pytest.raises(WorkerAuthFailed, match="does not exist"):
        sshd_server.open_trusted(paths, identity_file=str(tmp_path / "nope"))


def test_missing_python3_is_reported(sshd_factory: Any, paths: Paths, tmp_path: Path) -> None:
    # A session whose PATH holds only `sh`, and a HOME without shell rc files.
    bin_dir, fake_home = tmp_path / "bin", tmp_path / "home"
    bin_dir.mkdir()
    fake_home.mkdir()
    os.symlink("/bin/sh", bin_dir / "sh")
    server = sshd_factory(extra_env={"PATH": str(bin_dir), "HOME": str(fake_home)})
    with pytest.raises(AgentSetupFailed) as info:
        server.open_trusted(paths)
    assert info.value.agent_code == "python_missing"
    assert "python3 was not found on" in info.value.message
    assert "install" in info.value.message
