"""How commands fail: one `error:` line (and details), the right exit code, never a traceback."""

from __future__ import annotations

import pytest

from gpustack_tui.cli import deploy_cmd
from gpustack_tui.cli.instances_cmd import sanitized_stream
from gpustack_tui.cli.workers_cmd import apply_label_changes
from gpustack_tui.client import ApiError, ServerUnavailable
from gpustack_tui.domain.deployment import DeploymentSpec
from gpustack_tui.domain.views import DeploymentView
from gpustack_tui.domain.worker import Worker
from tests.cli.conftest import not_found


def test_api_error_is_one_line_exit_1(run, fake_client) -> None:
    fake_client.responses["scale"] = not_found("nope")
    result = run("scale", "nope", "2")
    assert result.exit_code == 1
    assert result.stderr == "error: no deployment named 'nope'\n"
    assert result.stdout == ""


def test_server_problems_are_listed_beneath(run, fake_client) -> None:
    details = {"errors": [{"loc": ["advanced", "command"], "msg": "is required"}, "other"]}
    fake_client.responses["list_deployments"] = ApiError("invalid", "bad spec", 422, details)
    result = run("ls")
    assert result.exit_code == 1
    assert result.stderr.splitlines() == [
        "error: the server refused the request (2 problems):",
        "  advanced.command: is required",
        "  other",
    ]


def test_no_server_says_how_to_start_one(run, tmp_path) -> None:
    data_dir = str(tmp_path / "other install")
    result = run("--data-dir", data_dir, "--server", "http://127.0.0.1:9", "ls")
    assert result.exit_code == 1
    assert "no server answers at http://127.0.0.1:9" in result.stderr
    assert f"gpustack-tui --data-dir '{data_dir}' server" in result.stderr
    assert "Traceback" not in result.output


def test_unavailable_from_fake_client(run, fake_client) -> None:
    fake_client.responses["list_instances"] = ServerUnavailable("server_unavailable", "gone")
    result = run("instances", "ls")
    assert (result.exit_code, result.stderr) == (1, "error: gone\n")


def test_unknown_host_key_shows_fingerprint_and_command(run, fake_client, tmp_path) -> None:
    key = tmp_path / "id_ed25519"
    key.write_text("k")
    fake_client.responses["add_worker"] = ApiError(
        "host_key_unknown",
        "unknown host key",
        409,
        {"host": "10.0.0.5", "key_type": "ssh-ed25519", "fingerprint": "SHA256:abcDEF+/1"},
    )
    result = run(
        "--data-dir",
        "/srv/gt",
        "workers",
        "add",
        "ops@10.0.0.5:2222",
        "--name",
        "gpu1",
        "--identity",
        str(key),
    )
    assert result.exit_code == 1
    err = result.stderr
    assert "10.0.0.5" in err and "ssh-ed25519" in err and "SHA256:abcDEF+/1" in err
    assert "verify this fingerprint out of band before accepting" in err
    assert (
        f"gpustack-tui --data-dir /srv/gt workers add ops@10.0.0.5:2222 --name gpu1 "
        f"--identity {key} --accept-host-key SHA256:abcDEF+/1"
    ) in err
    [(args, kwargs)] = fake_client.called("add_worker")
    assert args == ("ops@10.0.0.5:2222",)
    assert kwargs["identity_file"] == str(key.resolve())


def test_accept_host_key_is_passed_on(run, fake_client) -> None:
    fake_client.responses["add_worker"] = Worker(name="gpu1", destination="x")
    result = run("workers", "add", "x", "--accept-host-key", "SHA256:abc")
    assert result.exit_code == 0, result.output
    assert fake_client.called("add_worker")[0][1]["accept_host_key"] == "SHA256:abc"
    assert "added worker gpu1" in result.stdout


def test_labels() -> None:
    assert apply_label_changes({"a": "1", "b": "2"}, ("b-", "c=3", "a=x=y")) == {
        "a": "x=y",
        "c": "3",
    }
    with pytest.raises(Exception, match="KEY=VALUE or KEY-"):
        apply_label_changes({}, ("oops",))


def test_label_command(run, fake_client) -> None:
    def get_worker(name: str) -> Worker:
        if name != "w":
            raise ApiError("not_found", f"no worker named {name!r}", 404)
        return Worker(name="w", destination="d", labels={"a": "1"})

    fake_client.responses["get_worker"] = get_worker
    fake_client.responses["set_worker_labels"] = lambda name, labels: Worker(
        name=name, destination="d", labels=labels
    )
    result = run("workers", "label", "w", "a-", "gpu=l4")
    assert result.exit_code == 0, result.output
    assert fake_client.called("set_worker_labels") == [(("w", {"gpu": "l4"}), {})]
    assert result.stdout == "gpu=l4\n"
    assert run("workers", "label", "w", "=x").exit_code == 2
    assert run("workers", "label", "ghost", "a=1").exit_code == 1


@pytest.fixture
def one_deployment(fake_client):
    spec = DeploymentSpec(name="m", source={"local_path": "/m"}, advanced={"command": "x"})
    fake_client.responses["get_deployment"] = DeploymentView(spec=spec)
    return fake_client


def test_rm_without_terminal_refuses(run, one_deployment) -> None:
    result = run("rm", "m")
    assert result.exit_code == 2
    assert "pass --yes" in result.stderr
    assert one_deployment.called("delete_deployment") == []


def test_rm_yes_deletes(run, one_deployment) -> None:
    result = run("rm", "m", "--yes")
    assert result.exit_code == 0
    assert one_deployment.called("delete_deployment") == [(("m",), {})]


def test_rm_asks_on_a_terminal(run, one_deployment, monkeypatch) -> None:
    monkeypatch.setattr(deploy_cmd, "stdin_is_tty", lambda: True)
    result = run("rm", "m", input="n\n")
    assert result.exit_code == 1  # click's Abort
    assert one_deployment.called("delete_deployment") == []
    result = run("rm", "m", input="y\n")
    assert result.exit_code == 0
    assert one_deployment.called("delete_deployment") == [(("m",), {})]


def test_logs_are_sanitized(run, fake_client) -> None:
    fake_client.responses["read_logs"] = "ok \x1b[31mred\x1b[0m\r\x1b]52;c;ZXZpbA==\x07done\n"
    result = run("logs", "m-1", "--tail", "5")
    assert result.exit_code == 0
    assert result.stdout == "ok reddone\n"
    assert fake_client.called("read_logs") == [(("m-1",), {"tail": 5})]


def test_follow_holds_back_a_split_escape_sequence(run, fake_client) -> None:
    assert "".join(sanitized_stream(["a\x1b[3", "1mb\n", "c\x1b"])) == "ab\nc"

    def follow(name, tail=None):
        yield "line 1\n\x1b[3"
        yield "1mline 2\n"
        raise KeyboardInterrupt

    fake_client.responses["follow_logs"] = follow
    result = run("logs", "m-1", "-f")
    assert result.exit_code == 0
    assert result.stdout == "line 1\nline 2\n"
