"""`read_log`: byte offsets, whole lines, a partial last line, UTF-8, restarts after truncation.

Answers also carry `log_id` and `exists` (see test_logs_rotation.py); `read` drops them here.
"""

from __future__ import annotations

import sys

import pytest

from tests.agent.conftest import AgentCallError, AgentProcess
from tests.fixtures.waiting import wait_until


def read(agent: AgentProcess, **params: object) -> dict:
    """`read_log`'s answer without `log_id` and `exists` (checked in test_logs_rotation.py)."""
    answer = agent.call("read_log", **params)
    assert isinstance(answer.pop("log_id"), str) and answer.pop("exists") is True
    return answer


def write_log(agent: AgentProcess, name: str, data: bytes) -> None:
    """Run a workload that writes `data` to its stdout, and wait until it has exited."""
    code = f"import sys\nsys.stdout.buffer.write({data!r})\nsys.stdout.flush()"
    agent.call("start", name=name, argv=[sys.executable, "-c", code])
    wait_until(
        "the whole log",
        lambda: agent.call("read_log", name=name, offset=0, max_bytes=1)["size"] == len(data),
        timeout=10,
    )


def test_read_log_by_offsets_with_a_partial_last_line(agent_proc: AgentProcess) -> None:
    write_log(agent_proc, "w-log", b"line1\nline2\npart")
    got = read(agent_proc, name="w-log", offset=0, max_bytes=1000)
    assert got == {"data": "line1\nline2\n", "next_offset": 12, "size": 16}
    got = read(agent_proc, name="w-log", offset=12, max_bytes=1000)
    assert got == {"data": "part", "next_offset": 16, "size": 16}
    got = read(agent_proc, name="w-log", offset=16, max_bytes=1000)
    assert got == {"data": "", "next_offset": 16, "size": 16}
    # max_bytes cuts inside line 2: only whole lines come back.
    got = read(agent_proc, name="w-log", offset=0, max_bytes=8)
    assert got == {"data": "line1\n", "next_offset": 6, "size": 16}
    got = read(agent_proc, name="w-log", offset=6, max_bytes=8)
    assert got == {"data": "line2\n", "next_offset": 12, "size": 16}
    # A line longer than max_bytes still comes back, in pieces.
    got = read(agent_proc, name="w-log", offset=0, max_bytes=3)
    assert got == {"data": "lin", "next_offset": 3, "size": 16}
    # An offset past the end (the log was truncated) starts over.
    got = read(agent_proc, name="w-log", offset=999, max_bytes=1000)
    assert got == {"data": "line1\nline2\n", "next_offset": 12, "size": 16}
    # Defaults: from the start, up to 64 KiB.
    assert read(agent_proc, name="w-log")["data"] == "line1\nline2\n"


def test_read_log_decodes_utf8_with_replacement(agent_proc: AgentProcess) -> None:
    write_log(agent_proc, "w-utf8", "café\n".encode() + b"\xff bad\nn\xc3\xa9")
    got = read(agent_proc, name="w-utf8", offset=0, max_bytes=100)
    assert got["data"] == "café\n\ufffd bad\n"
    # A character cut by max_bytes is held back for the next read, never split.
    got = read(agent_proc, name="w-utf8", offset=0, max_bytes=4)
    assert got == {"data": "caf", "next_offset": 3, "size": 15}
    got = read(agent_proc, name="w-utf8", offset=3, max_bytes=4)
    assert got["data"] == "é\n"
    got = read(agent_proc, name="w-utf8", offset=12, max_bytes=100)
    assert got == {"data": "né", "next_offset": 15, "size": 15}


def test_read_log_of_unknown_or_unstarted_workloads(agent_proc: AgentProcess) -> None:
    with pytest.raises(AgentCallError) as caught:
        agent_proc.call("read_log", name="nobody", offset=0, max_bytes=10)
    assert caught.value.code == "not_found"
    agent_proc.call("allocate_port", name="w-reserved")  # a folder, but nothing started yet
    got = read(agent_proc, name="w-reserved", offset=0, max_bytes=10)
    assert got == {"data": "", "next_offset": 0, "size": 0}
