"""`read_log`: byte offsets, whole lines, a partial last line, UTF-8, restarts after truncation."""

from __future__ import annotations

import sys

import pytest

from tests.agent.conftest import AgentCallError, AgentProcess, wait_for


def write_log(agent: AgentProcess, name: str, data: bytes) -> None:
    """Run a workload that writes `data` to its stdout, and wait until it has exited."""
    code = f"import sys\nsys.stdout.buffer.write({data!r})\nsys.stdout.flush()"
    agent.call("start", name=name, argv=[sys.executable, "-c", code])
    wait_for(lambda: agent.call("read_log", name=name, offset=0, max_bytes=1)["size"] == len(data))


def test_read_log_by_offsets_with_a_partial_last_line(agent_proc: AgentProcess) -> None:
    write_log(agent_proc, "w-log", b"line1\nline2\npart")
    read = agent_proc.call("read_log", name="w-log", offset=0, max_bytes=1000)
    assert read == {"data": "line1\nline2\n", "next_offset": 12, "size": 16}
    read = agent_proc.call("read_log", name="w-log", offset=12, max_bytes=1000)
    assert read == {"data": "part", "next_offset": 16, "size": 16}
    read = agent_proc.call("read_log", name="w-log", offset=16, max_bytes=1000)
    assert read == {"data": "", "next_offset": 16, "size": 16}
    # max_bytes cuts inside line 2: only whole lines come back.
    read = agent_proc.call("read_log", name="w-log", offset=0, max_bytes=8)
    assert read == {"data": "line1\n", "next_offset": 6, "size": 16}
    read = agent_proc.call("read_log", name="w-log", offset=6, max_bytes=8)
    assert read == {"data": "line2\n", "next_offset": 12, "size": 16}
    # A line longer than max_bytes still comes back, in pieces.
    read = agent_proc.call("read_log", name="w-log", offset=0, max_bytes=3)
    assert read == {"data": "lin", "next_offset": 3, "size": 16}
    # An offset past the end (the log was truncated) starts over.
    read = agent_proc.call("read_log", name="w-log", offset=999, max_bytes=1000)
    assert read == {"data": "line1\nline2\n", "next_offset": 12, "size": 16}
    # Defaults: from the start, up to 64 KiB.
    assert agent_proc.call("read_log", name="w-log")["data"] == "line1\nline2\n"


def test_read_log_decodes_utf8_with_replacement(agent_proc: AgentProcess) -> None:
    write_log(agent_proc, "w-utf8", "café\n".encode() + b"\xff bad\nn\xc3\xa9")
    read = agent_proc.call("read_log", name="w-utf8", offset=0, max_bytes=100)
    assert read["data"] == "café\n\ufffd bad\n"
    # A character cut by max_bytes is held back for the next read, never split.
    read = agent_proc.call("read_log", name="w-utf8", offset=0, max_bytes=4)
    assert read == {"data": "caf", "next_offset": 3, "size": 15}
    read = agent_proc.call("read_log", name="w-utf8", offset=3, max_bytes=4)
    assert read["data"] == "é\n"
    read = agent_proc.call("read_log", name="w-utf8", offset=12, max_bytes=100)
    assert read == {"data": "né", "next_offset": 15, "size": 15}


def test_read_log_of_unknown_or_unstarted_workloads(agent_proc: AgentProcess) -> None:
    with pytest.raises(AgentCallError) as caught:
        agent_proc.call("read_log", name="nobody", offset=0, max_bytes=10)
    assert caught.value.code == "not_found"
    agent_proc.call("allocate_port", name="w-reserved")  # a folder, but nothing started yet
    read = agent_proc.call("read_log", name="w-reserved", offset=0, max_bytes=10)
    assert read == {"data": "", "next_offset": 0, "size": 0}
