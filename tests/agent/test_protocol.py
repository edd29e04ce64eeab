"""The JSON-lines loop: answers, errors, and staying up after bad input."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.agent.conftest import AgentCallError, AgentProcess


def test_hello_describes_the_agent(agent_proc: AgentProcess, agent_home: Path) -> None:
    hello = agent_proc.call("hello")
    assert hello["protocol"] == 1
    assert hello["agent_version"]
    assert hello["hostname"]
    assert hello["python"].count(".") == 2
    assert hello["home"] == str(agent_home)


def test_malformed_line_is_answered_with_id_null(agent_proc: AgentProcess) -> None:
    answer = agent_proc.send_line("{this is not json")
    assert answer["id"] is None
    assert answer["error"]["code"] == "bad_request"
    answer = agent_proc.send_line(b"\xff\xfe not utf-8")
    assert answer == {"id": None, "error": answer["error"]}
    assert answer["error"]["code"] == "bad_request"
    answer = agent_proc.send_line("[1, 2, 3]")
    assert answer["id"] is None
    assert answer["error"]["code"] == "bad_request"
    assert agent_proc.call("hello")["protocol"] == 1


def test_bad_requests_get_errors_and_the_agent_keeps_serving(agent_proc: AgentProcess) -> None:
    answer = agent_proc.request("no_such_method")
    assert answer["error"]["code"] == "unknown_method"
    assert "no_such_method" in answer["error"]["message"]

    answer = agent_proc.send_line('{"id": 77, "method": "hello", "params": [1]}')
    assert answer["id"] == 77
    assert answer["error"]["code"] == "bad_request"

    answer = agent_proc.send_line('{"id": 78, "params": {}}')
    assert answer["id"] == 78
    assert answer["error"]["code"] == "bad_request"

    for bad_name in ["../escape", "", ".hidden", "a/b", "x" * 129, 5]:
        with pytest.raises(AgentCallError) as caught:
            agent_proc.call("start", name=bad_name, argv=[sys.executable, "-c", "pass"])
        assert caught.value.code == "bad_request", bad_name

    with pytest.raises(AgentCallError) as caught:
        agent_proc.call("start", name="ok-name", argv=[])
    assert caught.value.code == "bad_request"
    with pytest.raises(AgentCallError) as caught:
        agent_proc.call("start", name="ok-name", argv=["x"], env={"A": 1})
    assert caught.value.code == "bad_request"
    with pytest.raises(AgentCallError) as caught:
        agent_proc.call("read_log", name="ok-name", offset=-1)
    assert caught.value.code == "bad_request"

    assert agent_proc.call("hello")["protocol"] == 1
    assert agent_proc.call("list") == {"instances": []}


def test_blank_lines_are_skipped_and_eof_ends_the_agent(agent_proc: AgentProcess) -> None:
    assert agent_proc.proc.stdin is not None
    agent_proc.proc.stdin.write(b"\n   \n")
    assert agent_proc.call("hello")["protocol"] == 1
    assert agent_proc.close() == 0


def test_path_info(agent_proc: AgentProcess, tmp_path: Path) -> None:
    folder = tmp_path / "model"
    (folder / "sub").mkdir(parents=True)
    (folder / "a.bin").write_bytes(b"x" * 100)
    (folder / "sub" / "b.bin").write_bytes(b"y" * 23)
    (folder / "link.bin").symlink_to(folder / "a.bin")  # counted once, like HF snapshot links

    assert agent_proc.call("path_info", path=str(folder)) == {
        "exists": True,
        "is_dir": True,
        "size": 123,
    }
    assert agent_proc.call("path_info", path=str(folder / "a.bin")) == {
        "exists": True,
        "is_dir": False,
        "size": 100,
    }
    missing = agent_proc.call("path_info", path=str(tmp_path / "missing"))
    assert missing == {"exists": False, "is_dir": False, "size": 0}
