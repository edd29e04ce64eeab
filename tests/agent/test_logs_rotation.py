"""Logs per run (`log` and the previous `log.1`), the last N lines, and the size cap with
logical offsets, on real agents and supervisors (and `cut_to_newest` against a real writer)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from agent.log_rotation import cut_to_newest, read_meta
from tests.agent.conftest import AgentCallError, AgentProcess
from tests.fixtures.waiting import wait_until

MARKER = re.compile(r"^\[gpustack-agent \S+: log over \d+ bytes; older output dropped")


def py(code: str) -> list[str]:
    return [sys.executable, "-c", code]


def state(agent: AgentProcess, name: str) -> str:
    (found,) = [w for w in agent.call("list")["instances"] if w["name"] == name]
    return found["state"]


def run_to_end(agent: AgentProcess, name: str, code: str) -> None:
    agent.call("start", name=name, argv=py(code))
    wait_until("the workload to exit", lambda: state(agent, name) == "exited", timeout=10)


def test_each_run_has_its_log_and_the_previous_is_kept(agent_proc: AgentProcess) -> None:
    run_to_end(agent_proc, "w-runs", "print('one')")
    first = agent_proc.call("read_log", name="w-runs")
    assert first["data"] == "one\n" and first["log_id"]
    missing = agent_proc.call("read_log", name="w-runs", previous=True)
    assert missing == {"data": "", "next_offset": 0, "size": 0, "log_id": "", "exists": False}

    run_to_end(agent_proc, "w-runs", "print('two')")
    current = agent_proc.call("read_log", name="w-runs")
    previous = agent_proc.call("read_log", name="w-runs", previous=True)
    assert (current["data"], previous["data"]) == ("two\n", "one\n")
    assert previous["log_id"] == first["log_id"] != current["log_id"]

    run_to_end(agent_proc, "w-runs", "print('three')")
    assert agent_proc.call("read_log", name="w-runs")["data"] == "three\n"
    assert agent_proc.call("read_log", name="w-runs", previous=True)["data"] == "two\n"


def test_starting_a_running_workload_keeps_its_log(agent_proc: AgentProcess) -> None:
    code = "import time\nprint('up', flush=True)\ntime.sleep(60)"
    agent_proc.call("start", name="w-keep", argv=py(code))
    wait_until(
        "w-keep to say up",
        lambda: agent_proc.call("read_log", name="w-keep")["data"] == "up\n",
        timeout=10,
    )
    again = agent_proc.call("start", name="w-keep", argv=py(code))
    assert again["already_running"] is True
    assert agent_proc.call("read_log", name="w-keep")["data"] == "up\n"
    assert agent_proc.call("read_log", name="w-keep", previous=True)["exists"] is False


def test_tail_lines(agent_proc: AgentProcess) -> None:
    run_to_end(agent_proc, "w-tail", "for i in range(20000):\n    print(f'line {i}')")
    size = agent_proc.call("read_log", name="w-tail", max_bytes=1)["size"]
    last = agent_proc.call("read_log", name="w-tail", tail_lines=3)
    assert last == {
        "data": "line 19997\nline 19998\nline 19999\n",
        "next_offset": size,
        "size": size,
        "log_id": last["log_id"],
        "exists": True,
    }
    thousand = agent_proc.call("read_log", name="w-tail", tail_lines=1000)["data"].splitlines()
    assert thousand == [f"line {i}" for i in range(19000, 20000)]
    assert agent_proc.call("read_log", name="w-tail", tail_lines=0)["data"] == ""
    everything = agent_proc.call("read_log", name="w-tail", tail_lines=10**6)["data"]
    assert everything.count("\n") == 20000 and everything.startswith("line 0\n")
    # max_bytes bounds the answer; it still starts at a line.
    bounded = agent_proc.call("read_log", name="w-tail", tail_lines=1000, max_bytes=100)["data"]
    assert bounded.endswith("line 19999\n") and len(bounded) <= 100
    assert bounded.startswith("line ")
    # A last line without its newline counts as a line, as `tail` counts it.
    run_to_end(agent_proc, "w-part", "import sys\nsys.stdout.write('a\\nb\\nc')")
    assert agent_proc.call("read_log", name="w-part", tail_lines=2)["data"] == "b\nc"
    with pytest.raises(AgentCallError) as caught:
        agent_proc.call("read_log", name="w-part", tail_lines=-1)
    assert caught.value.code == "bad_request"
    with pytest.raises(AgentCallError) as caught:
        agent_proc.call("read_log", name="w-part", previous="yes")
    assert caught.value.code == "bad_request"


GATED_WRITER = """
import os, sys, time
gate = sys.argv[1]
for i in range(4000):
    print(f"before {i:06d} " + "x" * 40)
sys.stdout.flush()
while not os.path.exists(gate):
    time.sleep(0.05)
for i in range(3):
    print(f"after {i}")
sys.stdout.flush()
time.sleep(60)
"""


def test_size_cap_keeps_the_newest_part_with_stable_offsets(
    start_agent, agent_home: Path, tmp_path: Path
) -> None:
    agent = start_agent(env={"GPUSTACK_AGENT_LOG_MAX_BYTES": "65536"})
    gate = tmp_path / "go"
    agent.call("start", name="w-cap", argv=[*py(GATED_WRITER), str(gate)])
    written = 4000 * len(f"before {0:06d} " + "x" * 40 + "\n")
    log_file = agent_home / "workloads" / "w-cap" / "log"

    wait_until(
        "every byte written",
        lambda: agent.call("read_log", name="w-cap", max_bytes=1)["size"] >= written,
        timeout=10,
    )
    wait_until("the log file cut to 64 KiB", lambda: log_file.stat().st_size <= 65536, timeout=15)
    read = agent.call("read_log", name="w-cap", offset=0, max_bytes=1 << 20)
    lines = read["data"].splitlines()
    # Behind the cut: the reader gets the marker, then the newest lines, whole and in order.
    assert MARKER.match(lines[0]), lines[0]
    kept = [int(line.split()[1]) for line in lines[1:]]
    assert kept == list(range(kept[0], 4000)) and kept[0] > 0
    assert log_file.stat().st_size <= 65536
    # Offsets are logical: the size counts every byte written, not what the file still holds.
    assert read["size"] == read["next_offset"] >= written
    assert read["size"] > log_file.stat().st_size

    gate.touch()
    wait_until(
        "the line after 2",
        lambda: "after 2" in agent.call("read_log", name="w-cap", tail_lines=1)["data"],
        timeout=10,
    )
    more = agent.call("read_log", name="w-cap", offset=read["next_offset"])
    assert more["data"] == "after 0\nafter 1\nafter 2\n"
    assert more["log_id"] == read["log_id"]
    assert agent.call("read_log", name="w-cap", tail_lines=2)["data"] == "after 1\nafter 2\n"


def test_a_bad_cap_setting_is_reported_in_the_log(start_agent) -> None:
    agent = start_agent(env={"GPUSTACK_AGENT_LOG_MAX_BYTES": "lots"})
    run_to_end(agent, "w-badcap", "print('fine')")
    text = agent.call("read_log", name="w-badcap")["data"]
    assert "ignoring GPUSTACK_AGENT_LOG_MAX_BYTES='lots'" in text
    assert text.endswith("fine\n")


WRITER = """
import os, sys, time
fd = os.open(sys.argv[1], os.O_WRONLY | os.O_APPEND | os.O_CREAT)
for i in range(60000):
    os.write(fd, f"line {i:07d}\\n".encode())
    if i % 200 == 0:
        time.sleep(0.001)
os.write(fd, b"done\\n")
"""


def test_cut_while_a_writer_appends_keeps_whole_lines_in_order(tmp_path: Path) -> None:
    log = tmp_path / "log"
    (tmp_path / "log.meta").write_text(json.dumps({"id": "abc", "dropped": 0}))
    writer = subprocess.Popen([*py(WRITER), str(log)])
    cuts = 0
    try:
        while writer.poll() is None:
            cuts += cut_to_newest(str(log), 32768)
            time.sleep(0.01)
    finally:
        writer.wait(timeout=30)
    cuts += cut_to_newest(str(log), 32768)
    assert cuts >= 3
    text = log.read_text()
    assert text.endswith("done\n")
    numbers = []
    for line in text.splitlines()[:-1]:
        if MARKER.match(line):
            continue
        assert re.fullmatch(r"line \d{7}", line), line  # never a torn line
        numbers.append(int(line.split()[1]))
    assert numbers == sorted(numbers) and numbers[-1] == 59999
    meta = read_meta(str(log))
    assert meta["id"] == "abc"
    # The logical size is what was written (60,000 lines of 13 bytes and "done\n"), less the
    # few whole lines a cut may lose when they land between its last copy and its truncate.
    written = 60000 * 13 + 5
    assert written - 13 * 50 <= meta["dropped"] + os.path.getsize(log) <= written
