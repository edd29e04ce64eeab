"""Parsing SSH destinations: `user@host:port`, bare hosts, `~/.ssh/config` aliases, `local`."""

from __future__ import annotations

import getpass
from pathlib import Path

import pytest

from gpustack_tui.server.workers.destination import (
    LocalTarget,
    SshTarget,
    is_local,
    parse_destination,
)


@pytest.fixture
def no_config(tmp_path: Path) -> Path:
    """An SSH config path that does not exist (so the user's own never leaks into tests)."""
    return tmp_path / "no-ssh-config"


def test_user_host_port(no_config: Path) -> None:
    target = parse_destination("alice@gpu1.example.com:2222", no_config)
    assert target == SshTarget(host="gpu1.example.com", port=2222, user="alice")
    assert target.label == "alice@gpu1.example.com:2222"


def test_defaults_are_port_22_and_the_current_user(no_config: Path) -> None:
    assert parse_destination("gpu1", no_config) == SshTarget("gpu1", 22, getpass.getuser())
    assert parse_destination("bob@10.0.0.7", no_config) == SshTarget("10.0.0.7", 22, "bob")
    assert parse_destination("10.0.0.7:22022", no_config).port == 22022


def test_ipv6_literals(no_config: Path) -> None:
    assert parse_destination("[::1]:2200", no_config) == SshTarget("::1", 2200, getpass.getuser())
    assert parse_destination("root@[fe80::1]", no_config) == SshTarget("fe80::1", 22, "root")
    assert parse_destination("::1", no_config).host == "::1"
    assert parse_destination("root@[::1]:2200", no_config).label == "root@[::1]:2200"


def test_local_is_the_head_node(no_config: Path) -> None:
    assert parse_destination("local", no_config) == LocalTarget()
    assert parse_destination("  local ", no_config) == LocalTarget()
    assert is_local("local")
    assert not is_local("localhost")


@pytest.mark.parametrize(
    ("destination", "fragment"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("host:", "port '' is not a number"),
        ("host:abc", "port 'abc' is not a number"),
        ("host:0", "not in 1-65535"),
        ("host:65536", "not in 1-65535"),
        ("@host", "empty user"),
        ("user@", "empty host"),
        ("user@:22", "empty host"),
        ("a b", "spaces"),
        ("[::1", "missing ']'"),
        ("[::1]x", "expected ':port'"),
        ("-oProxyCommand=x", "invalid host"),
        ("ho/st", "invalid host"),
    ],
)
def test_bad_destinations_raise_value_error(
    destination: str, fragment: str, no_config: Path
) -> None:
    with pytest.raises(ValueError, match="destination") as info:
        parse_destination(destination, no_config)
    assert fragment in str(info.value)


def test_ssh_config_alias(tmp_path: Path) -> None:
    key = tmp_path / "id_gpu"
    key.write_text("not really a key")
    config = tmp_path / "config"
    config.write_text(
        "Host gpu-box\n"
        "  HostName 192.0.2.10\n"
        "  Port 2201\n"
        "  User carol\n"
        f"  IdentityFile {key}\n"
        "Host *\n"
        "  User fallback\n"
    )
    target = parse_destination("gpu-box", config)
    assert target == SshTarget("192.0.2.10", 2201, "carol", (str(key),))
    # What the destination says explicitly wins over the config.
    explicit = parse_destination("dave@gpu-box:2300", config)
    assert (explicit.host, explicit.port, explicit.user) == ("192.0.2.10", 2300, "dave")
    # Other hosts still get the wildcard section.
    assert parse_destination("other", config) == SshTarget("other", 22, "fallback")


def test_ssh_config_expands_home_in_identity_file(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("Host box\n  IdentityFile ~/.ssh/id_box\n")
    target = parse_destination("box", config)
    assert target.identity_files == (str(Path("~/.ssh/id_box").expanduser()),)


def test_ssh_config_bad_port_is_reported(tmp_path: Path) -> None:
    config = tmp_path / "config"
    config.write_text("Host box\n  Port nope\n")
    with pytest.raises(ValueError, match="port 'nope' is not a number"):
        parse_destination("box", config)
