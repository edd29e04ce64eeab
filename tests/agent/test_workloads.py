"""The process runtime: start, idempotence, stop and SIGKILL escalation, exit codes recorded
without an agent, workloads outliving the agent, start failures, remove."""

from __future__ import annotations

import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.agent.conftest import AgentCallError, AgentProcess
from tests.fixtures.processes import environ, pids_where
from tests.fixtures.waiting import wait_until


def py(code: str) -> list[str]:
    """argv running `code` in this Python."""
    return [sys.executable, "-c", code]


SLEEPER = py("import time\nprint('ready', flush=True)\ntime.sleep(60)")


def log_text(agent: AgentProcess, name: str) -> str:
    return agent.call("read_log", name=name, offset=0, max_bytes=1 << 20)["data"]


def instance(agent: AgentProcess, name: str) -> dict:
    (found,) = [w for w in agent.call("list")["instances"] if w["name"] == name]
    return found


def pid_alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


def marked_processes(name: str) -> list[int]:
    """Processes carrying the agent's marker for workload `name` in their environment."""
    return pids_where(
        lambda pid: environ(pid).get("GPUSTACK_AGENT_WORKLOAD") == name and pid_alive(pid)
    )


def test_start_passes_env_cwd_labels_and_remove_cleans_up(
    agent_proc: AgentProcess, agent_home: Path, tmp_path: Path
) -> None:
    code = "import os, time\nprint(os.environ['FOO'], os.getcwd(), flush=True)\ntime.sleep(60)"
    before = time.time()
    started = agent_proc.call(
        "start",
        name="w-env",
        argv=py(code),
        env={"FOO": "bar baz"},
        cwd=str(tmp_path),
        labels={"deployment": "qwen"},
    )
    assert started["already_running"] is False
    assert (
        wait_until("the output of w-env", lambda: log_text(agent_proc, "w-env"), timeout=10)
        == f"bar baz {tmp_path}\n"
    )
    listed = instance(agent_proc, "w-env")
    assert listed["pid"] == started["pid"]
    assert listed["state"] == "running"
    assert listed["exit_code"] is None
    assert listed["labels"] == {"deployment": "qwen"}
    assert listed["port"] is None
    assert before <= listed["started_at"] <= time.time()

    assert agent_proc.call("remove", name="w-env", grace_seconds=5) == {}
    assert agent_proc.call("list") == {"instances": []}
    assert not (agent_home / "workloads" / "w-env").exists()
    assert wait_until("the process to be gone", lambda: not pid_alive(started["pid"]), timeout=10)
    assert agent_proc.call("remove", name="w-env") == {}  # removing twice is fine


def test_start_is_idempotent_by_name(start_agent: Callable[..., AgentProcess]) -> None:
    agent = start_agent()
    first = agent.call("start", name="w-once", argv=SLEEPER)
    second = agent.call("start", name="w-once", argv=py("print('other')"))
    other_agent = start_agent()  # a second agent on the same home sees the same workload
    third = other_agent.call("start", name="w-once", argv=SLEEPER)
    assert first["already_running"] is False
    assert first["runtime"] == "process"
    assert second == third == {"pid": first["pid"], "already_running": True, "runtime": "process"}
    assert [w["name"] for w in agent.call("list")["instances"]] == ["w-once"]
    assert marked_processes("w-once") == [first["pid"]]


def test_stop_sends_sigterm(agent_proc: AgentProcess) -> None:
    started = agent_proc.call("start", name="w-term", argv=SLEEPER)
    wait_until(
        "w-term to say ready",
        lambda: "ready" in log_text(agent_proc, "w-term"),
        timeout=10,
    )
    begun = time.monotonic()
    assert agent_proc.call("stop", name="w-term", grace_seconds=10) == {
        "stopped": True,
        "exit_code": -signal.SIGTERM,
    }
    assert time.monotonic() - begun < 5
    assert not pid_alive(started["pid"])
    listed = instance(agent_proc, "w-term")
    assert (listed["state"], listed["exit_code"]) == ("exited", -signal.SIGTERM)
    # Stopping an exited workload changes nothing; an unknown one is not_found.
    assert agent_proc.call("stop", name="w-term", grace_seconds=1) == {
        "stopped": False,
        "exit_code": -signal.SIGTERM,
    }
    with pytest.raises(AgentCallError) as caught:
        agent_proc.call("stop", name="never-started", grace_seconds=1)
    assert caught.value.code == "not_found"


def test_stop_escalates_to_sigkill(agent_proc: AgentProcess) -> None:
    stubborn = py(
        "import signal, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('ready', flush=True)\n"
        "time.sleep(60)"
    )
    started = agent_proc.call("start", name="w-kill", argv=stubborn)
    wait_until(
        "w-kill to say ready",
        lambda: "ready" in log_text(agent_proc, "w-kill"),
        timeout=10,
    )
    begun = time.monotonic()
    stopped = agent_proc.call("stop", name="w-kill", grace_seconds=0.5)
    elapsed = time.monotonic() - begun
    assert stopped == {"stopped": True, "exit_code": -signal.SIGKILL}
    assert 0.5 <= elapsed < 5
    assert not pid_alive(started["pid"])


def test_stop_kills_leftovers_in_the_process_group(agent_proc: AgentProcess) -> None:
    # The program exits on SIGTERM, but its child ignores SIGTERM: stop must not leave it behind.
    parent = py(
        "import subprocess, sys, time\n"
        "child = subprocess.Popen([sys.executable, '-c', "
        "'import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); "
        'print("child ready", flush=True); time.sleep(60)\'])\n'
        "print('child', child.pid, flush=True)\n"
        "time.sleep(60)"
    )
    agent_proc.call("start", name="w-group", argv=parent)
    text = wait_until(
        "the child to say ready",
        lambda: "child ready" in (t := log_text(agent_proc, "w-group")) and t,
        timeout=10,
    )
    grandchild = int(next(line for line in text.splitlines() if line.startswith("child "))[6:])
    assert pid_alive(grandchild)
    stopped = agent_proc.call("stop", name="w-group", grace_seconds=0.3)
    assert stopped == {"stopped": True, "exit_code": -signal.SIGTERM}
    assert wait_until("the grandchild to be gone", lambda: not pid_alive(grandchild), timeout=2)


def test_exit_code_recorded_while_no_agent_runs(start_agent: Callable[..., AgentProcess]) -> None:
    agent = start_agent()
    agent.call("start", name="w-exit", argv=py("import sys, time\ntime.sleep(0.4)\nsys.exit(3)"))
    agent.kill_group()
    time.sleep(0.6)
    later = start_agent()
    listed = wait_until(
        "w-exit to have exited",
        lambda: (w := instance(later, "w-exit"))["state"] == "exited" and w,
        timeout=10,
    )
    assert listed["exit_code"] == 3


def test_workload_survives_the_agent(start_agent: Callable[..., AgentProcess]) -> None:
    agent = start_agent()
    started = agent.call("start", name="w-lives", argv=SLEEPER)
    agent.kill_group()  # the agent and everything in its process group, as a lost SSH session
    time.sleep(0.3)
    assert pid_alive(started["pid"])
    later = start_agent()
    listed = instance(later, "w-lives")
    assert (listed["state"], listed["pid"]) == ("running", started["pid"])
    assert later.call("start", name="w-lives", argv=SLEEPER)["already_running"] is True
    assert later.call("stop", name="w-lives", grace_seconds=5)["stopped"] is True

    eof_agent = start_agent()  # the ordinary end: EOF on stdin
    started = eof_agent.call("start", name="w-lives", argv=SLEEPER)
    assert eof_agent.close() == 0
    time.sleep(0.2)
    assert pid_alive(started["pid"])


def test_restart_after_exit_starts_a_new_log_and_keeps_the_previous(
    agent_proc: AgentProcess,
) -> None:
    first = agent_proc.call("start", name="w-again", argv=py("print('one')"))
    wait_until(
        "w-again to exit",
        lambda: instance(agent_proc, "w-again")["state"] == "exited",
        timeout=10,
    )
    second = agent_proc.call("start", name="w-again", argv=py("print('two')"))
    assert second["already_running"] is False
    assert second["pid"] != first["pid"]
    wait_until(
        "w-again to exit",
        lambda: instance(agent_proc, "w-again")["state"] == "exited",
        timeout=10,
    )
    assert log_text(agent_proc, "w-again") == "two\n"
    previous = agent_proc.call("read_log", name="w-again", offset=0, previous=True)
    assert previous["data"] == "one\n"
    assert instance(agent_proc, "w-again")["exit_code"] == 0


def test_start_of_a_missing_program_fails(agent_proc: AgentProcess, tmp_path: Path) -> None:
    for program in ["no-such-program-gpustack-xyz", str(tmp_path / "nowhere" / "prog-xyz")]:
        with pytest.raises(AgentCallError) as caught:
            agent_proc.call("start", name="w-missing", argv=[program, "--flag"])
        assert caught.value.code == "start_failed"
        assert program in caught.value.message
        listed = instance(agent_proc, "w-missing")
        assert (listed["state"], listed["exit_code"]) == ("exited", 127)
        assert program in log_text(agent_proc, "w-missing")

    not_executable = tmp_path / "script.sh"
    not_executable.write_text("#!/bin/sh\necho hi\n")
    with pytest.raises(AgentCallError) as caught:
        agent_proc.call("start", name="w-noexec", argv=[str(not_executable)])
    assert caught.value.code == "start_failed"
    assert str(not_executable) in caught.value.message
    assert instance(agent_proc, "w-noexec")["exit_code"] == 126

    with pytest.raises(AgentCallError) as caught:
        agent_proc.call("start", name="w-cwd", argv=SLEEPER, cwd=str(tmp_path / "no-dir"))
    assert caught.value.code == "start_failed"
    assert "no-dir" in caught.value.message


def test_a_process_sees_only_its_gpus(agent_proc: AgentProcess) -> None:
    show = py(
        "import os, time\n"
        "names = ('CUDA_VISIBLE_DEVICES', 'CUDA_DEVICE_ORDER', 'HIP_VISIBLE_DEVICES')\n"
        "print(*[os.environ.get(n, '-') for n in names], flush=True)\n"
        "time.sleep(60)"
    )
    agent_proc.call("start", name="w-nv", argv=show, gpus={"vendor": "nvidia", "indexes": [1, 3]})
    assert (
        wait_until("the output of w-nv", lambda: log_text(agent_proc, "w-nv"), timeout=10)
        == "1,3 PCI_BUS_ID -\n"
    )
    agent_proc.call("start", name="w-amd", argv=show, gpus={"vendor": "amd", "indexes": [0]})
    assert (
        wait_until("the output of w-amd", lambda: log_text(agent_proc, "w-amd"), timeout=10)
        == "- - 0\n"
    )
    with pytest.raises(AgentCallError) as caught:
        agent_proc.call("start", name="w-bad", argv=show, gpus={"vendor": "tpu", "indexes": [0]})
    assert caught.value.code == "bad_request" and "gpus.vendor" in caught.value.message
    assert [w["name"] for w in agent_proc.call("list")["instances"]] == ["w-amd", "w-nv"]
