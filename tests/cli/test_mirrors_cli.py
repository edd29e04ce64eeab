"""Image mirror rules on the command line: a malformed one is refused (exit 2) naming it,
before any server is asked."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from gpustack_tui.cli.main import cli

NO_SERVER = "http://127.0.0.1:9"  # nothing answers there: a call would fail differently


@pytest.mark.parametrize(
    "args",
    [
        ["mirrors", "gpustack/=registry.lab/gpustack/"],
        ["mirrors", "--worker", "w1", "gpustack/=registry.lab/gpustack/"],
        ["workers", "add", "local", "--image-mirror", "gpustack/=registry.lab/gpustack/"],
    ],
)
def test_a_malformed_rule_exits_2_naming_it(args: list[str]) -> None:
    result = CliRunner().invoke(cli, ["--server", NO_SERVER, *args])
    assert result.exit_code == 2, result.output
    assert "'gpustack/=registry.lab/gpustack/'" in result.output
    assert "registry host" in result.output


def test_a_rule_without_equals_sign_says_how_to_write_it() -> None:
    result = CliRunner().invoke(cli, ["--server", NO_SERVER, "mirrors", "docker.io/"])
    assert result.exit_code == 2, result.output
    assert "write FROM=TO" in result.output
