"""Host-key trust against a real sshd: never auto-accept, refuse changed keys."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import paramiko
import pytest

from gpustack_tui.config import Paths
from gpustack_tui.server.workers import HostKeyChanged, HostKeyUnknown, open_worker
from gpustack_tui.server.workers.known_hosts import (
    KnownHosts,
    fingerprint,
    host_key_name,
    normalize_fingerprint,
)
from tests.fixtures.sshd import SshdServer


def test_fingerprint_matches_ssh_keygen(tmp_path: Path) -> None:
    key_file = tmp_path / "k"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key_file)], check=True)
    key = paramiko.Ed25519Key.from_private_key_file(str(key_file))
    expected = subprocess.run(
        ["ssh-keygen", "-lf", f"{key_file}.pub"], check=True, capture_output=True, text=True
    ).stdout.split()[1]
    assert fingerprint(key) == expected
    assert expected.startswith("SHA256:") and not expected.endswith("=")
    assert normalize_fingerprint(expected.removeprefix("SHA256:")) == expected
    assert normalize_fingerprint(f" {expected}= ") == expected


def test_known_host_names() -> None:
    assert host_key_name("gpu1", 22) == "gpu1"
    assert host_key_name("127.0.0.1", 2222) == "[127.0.0.1]:2222"


def test_unknown_host_key_is_refused_and_nothing_written(
    sshd_server: SshdServer, paths: Paths
) -> None:
    with pytest.raises(HostKeyUnknown) as info:
        sshd_server.open_worker(paths)
    error = info.value
    assert error.code == "host_key_unknown"
    assert error.fingerprint == sshd_server.host_key_fingerprint
    assert error.details == {
        "host": "127.0.0.1",
        "port": sshd_server.port,
        "key_type": "ssh-ed25519",
        "fingerprint": sshd_server.host_key_fingerprint,
    }
    assert sshd_server.host_key_fingerprint in error.message
    assert not paths.known_hosts.exists()


def test_accepting_the_fingerprint_stores_the_key(sshd_server: SshdServer, paths: Paths) -> None:
    connection, hello, address = sshd_server.open_worker(
        paths, accept=sshd_server.host_key_fingerprint
    )
    connection.close()
    assert hello["protocol"] == 1
    assert address == "127.0.0.1"

    text = paths.known_hosts.read_text()
    assert text.startswith(f"[127.0.0.1]:{sshd_server.port} ssh-ed25519 AAAA")
    assert text.count("\n") == 1
    assert stat.S_IMODE(paths.known_hosts.stat().st_mode) == 0o600

    # Known now: no acceptance needed, nothing appended.
    connection, hello, _ = sshd_server.open_worker(paths)
    connection.close()
    assert hello["protocol"] == 1
    assert paths.known_hosts.read_text() == text


def test_wrong_fingerprint_is_still_refused(sshd_server: SshdServer, paths: Paths) -> None:
    wrong = "SHA256:" + "A" * 43
    with pytest.raises(HostKeyUnknown) as info:
        sshd_server.open_worker(paths, accept=wrong)
    assert info.value.fingerprint == sshd_server.host_key_fingerprint
    assert wrong in info.value.message
    assert not paths.known_hosts.exists()


def test_changed_host_key_is_refused_and_the_stored_key_kept(
    sshd_server: SshdServer, paths: Paths
) -> None:
    old = sshd_server.host_key_fingerprint
    connection, _, _ = sshd_server.open_worker(paths, accept=old)
    connection.close()
    stored = paths.known_hosts.read_text()

    new = sshd_server.regenerate_host_key()
    assert new != old
    with pytest.raises(HostKeyChanged) as info:
        sshd_server.open_worker(paths)
    error = info.value
    assert error.code == "host_key_changed"
    assert (error.expected_fingerprint, error.got_fingerprint) == (old, new)
    assert error.details["expected_fingerprint"] == old
    assert "CHANGED" in error.message

    # Even "accepting" the new fingerprint does not replace a stored key.
    with pytest.raises(HostKeyChanged):
        sshd_server.open_worker(paths, accept=new)
    assert paths.known_hosts.read_text() == stored


def test_users_known_hosts_is_trusted_read_only(
    sshd_server: SshdServer, paths: Paths, tmp_path: Path
) -> None:
    user_file = tmp_path / "user_known_hosts"
    public = sshd_server.host_key.with_suffix(".pub").read_text().split()
    user_file.write_text(f"[127.0.0.1]:{sshd_server.port} {public[0]} {public[1]}\n")
    before = user_file.read_text()
    connection, hello, _ = open_worker(
        sshd_server.destination,
        paths,
        identity_file=str(sshd_server.identity_file),
        known_hosts=KnownHosts(paths.known_hosts, extra_paths=(user_file,)),
    )
    connection.close()
    assert hello["protocol"] == 1
    assert user_file.read_text() == before
    assert not paths.known_hosts.exists()
