"""`workers` commands against a real server and a real sshd: the host-key dance end to end."""

from __future__ import annotations

import json
import shlex

from click.testing import CliRunner

from gpustack_tui.cli.main import cli


def test_add_over_ssh_accept_label_and_remove(server, sshd_server) -> None:
    runner = CliRunner()
    env = {
        "GPUSTACK_TUI_DATA_DIR": str(server.data_dir),
        "GPUSTACK_TUI_SERVER": None,
        "NO_COLOR": "1",
    }

    def gt(*args: str):
        return runner.invoke(cli, list(args), env=env)

    first = gt(
        "workers",
        "add",
        sshd_server.destination,
        "--name",
        "gpu1",
        "--identity",
        str(sshd_server.identity_file),
    )
    assert first.exit_code == 1, first.output
    err = first.stderr
    assert sshd_server.host_key_fingerprint in err
    assert "ssh-ed25519" in err
    assert "verify this fingerprint out of band before accepting" in err
    with server.client() as client:
        assert client.list_workers() == []

    # the last line is the command to run, exactly
    command = shlex.split(err.strip().splitlines()[-1])
    assert command[0] == "gpustack-tui"
    assert command[-2:] == ["--accept-host-key", sshd_server.host_key_fingerprint]
    second = gt(*command[1:])
    assert second.exit_code == 0, second.output
    assert "added worker gpu1" in second.stdout

    listing = gt("workers", "ls")
    assert "2× Simulated RTX 4090 24.0 GiB (simulated)" in listing.stdout  # noqa: RUF001
    assert gt("workers", "label", "gpu1", "zone=a").stdout == "zone=a\n"
    [worker] = json.loads(gt("workers", "ls", "--json").stdout)
    assert worker["labels"] == {"zone": "a"}
    assert gt("workers", "rm", "gpu1").exit_code == 0
    assert json.loads(gt("workers", "ls", "--json").stdout) == []
