"""The podman runtime, for real: an image imported from a local rootfs, run through the agent.

Start (env, labels, mounts, shared memory, output in the workload's log), list, idempotent start,
stop with SIGTERM and with SIGKILL after the grace period, an exit while no agent runs,
re-adoption by a new agent, by folder and by label alone, and start failures.
"""

from __future__ import annotations

import json
import os
import signal
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from tests.agent.conftest import AgentCallError, AgentProcess
from tests.agent.podman_setup import IMAGE, podman, podman_env, teardown
from tests.fixtures.waiting import wait_until

SIGKILLED = 128 + 9


@pytest.fixture(scope="module")
def podman_vars(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """CONTAINERS_CONF and CONTAINERS_STORAGE_CONF of a private podman store holding IMAGE."""
    folder = tmp_path_factory.mktemp("podman")
    env = podman_env(folder)
    yield env
    teardown(env, folder)


@pytest.fixture
def start_podman_agent(
    start_agent: Callable[..., AgentProcess], podman_vars: dict[str, str]
) -> Iterator[Callable[[], AgentProcess]]:
    """Agents that find podman on their own (no GPUSTACK_AGENT_RUNTIME). At teardown every
    workload they left, and every labelled container of the test store, is removed."""
    yield lambda: start_agent(dict(podman_vars))
    cleaner = start_agent(dict(podman_vars))
    for workload in cleaner.call("list")["instances"]:
        cleaner.call("remove", name=workload["name"], grace_seconds=0)
    assert cleaner.call("list") == {"instances": []}


def log_text(agent: AgentProcess, name: str) -> str:
    return agent.call("read_log", name=name, offset=0, max_bytes=1 << 20)["data"]


def instance(agent: AgentProcess, name: str) -> dict:
    (found,) = [w for w in agent.call("list")["instances"] if w["name"] == name]
    return found


def containers(env: dict[str, str], name: str) -> list[dict]:
    done = podman(env, "ps", "--all", "--filter", f"name=^{name}$", "--format", "json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout or "[]")


TRAPPER = "trap 'echo got term; exit 7' TERM; echo ready; while true; do sleep 0.1; done"
STUBBORN = "trap '' TERM; echo ready; while true; do sleep 0.1; done"


def test_inventory_names_podman_as_the_runtime(
    start_podman_agent: Callable[[], AgentProcess],
) -> None:
    assert start_podman_agent().call("inventory")["runtime"] == "podman"


def test_start_log_list_idempotent_and_stop_with_sigterm(
    start_podman_agent: Callable[[], AgentProcess],
    podman_vars: dict[str, str],
    tmp_path: Path,
) -> None:
    models = tmp_path / "models"
    models.mkdir()
    (models / "model.txt").write_text("weights\n")
    agent = start_podman_agent()
    name = "gpustack-qwen3-c1"
    script = (
        "echo foo=$FOO; cat /models/model.txt; df -k /dev/shm | tail -n 1; "
        "(echo x > /models/new) 2>/dev/null || echo read-only; " + TRAPPER
    )
    started = agent.call(
        "start",
        name=name,
        image=IMAGE,
        argv=["sh", "-c", script],
        env={"FOO": "bar baz"},
        labels={"deployment": "qwen3"},
        shm_size=64 * 1024 * 1024,
        mounts=[{"source": str(models), "target": "/models", "read_only": True}],
    )
    assert (started["already_running"], started["runtime"]) == (False, "podman")
    text = wait_until(
        "the container to say ready",
        lambda: "ready" in (t := log_text(agent, name)) and t,
        timeout=30,
    )
    lines = text.splitlines()
    assert lines[0] == "foo=bar baz"
    assert lines[1] == "weights"
    assert lines[2].split()[1] == str(64 * 1024)  # /dev/shm size in KiB
    assert lines[3] == "read-only"

    listed = instance(agent, name)
    assert (listed["state"], listed["exit_code"], listed["runtime"]) == ("running", None, "podman")
    assert listed["labels"] == {"deployment": "qwen3"}
    assert listed["pid"] == started["pid"] and listed["pid"] > 0

    again = agent.call("start", name=name, image=IMAGE, argv=["sh", "-c", "echo other"])
    assert again == {"pid": started["pid"], "already_running": True, "runtime": "podman"}
    (only,) = containers(podman_vars, name)
    assert only["Labels"]["gpustack.workload"] == name

    begun = time.monotonic()
    stopped = agent.call("stop", name=name, grace_seconds=10)
    assert stopped == {"stopped": True, "exit_code": 7}
    assert time.monotonic() - begun < 8
    assert "got term" in log_text(agent, name)
    listed = instance(agent, name)
    assert (listed["state"], listed["exit_code"]) == ("exited", 7)
    assert agent.call("stop", name=name, grace_seconds=1) == {"stopped": False, "exit_code": 7}

    assert agent.call("remove", name=name, grace_seconds=0) == {}
    assert containers(podman_vars, name) == []
    assert agent.call("list") == {"instances": []}


def test_stop_escalates_to_sigkill(start_podman_agent: Callable[[], AgentProcess]) -> None:
    agent = start_podman_agent()
    name = "gpustack-stubborn-c2"
    agent.call("start", name=name, image=IMAGE, argv=["sh", "-c", STUBBORN])
    wait_until("the container to say ready", lambda: "ready" in log_text(agent, name), timeout=30)
    begun = time.monotonic()
    stopped = agent.call("stop", name=name, grace_seconds=1)
    elapsed = time.monotonic() - begun
    assert stopped == {"stopped": True, "exit_code": SIGKILLED}
    assert 1 <= elapsed < 10


def test_exit_while_no_agent_runs_and_readoption(
    start_podman_agent: Callable[[], AgentProcess], podman_vars: dict[str, str]
) -> None:
    agent = start_podman_agent()
    agent.call("start", name="c-exits", image=IMAGE, argv=["sh", "-c", "echo hi; sleep 1; exit 3"])
    agent.call("start", name="c-lives", image=IMAGE, argv=["sh", "-c", TRAPPER])
    agent.kill_group()  # the agent and its session, as a lost SSH connection
    time.sleep(2)

    later = start_podman_agent()
    exited = wait_until(
        "c-exits to have exited",
        lambda: (w := instance(later, "c-exits"))["state"] == "exited" and w,
        timeout=20,
    )
    assert exited["exit_code"] == 3
    assert "hi" in log_text(later, "c-exits")
    lives = instance(later, "c-lives")
    assert lives["state"] == "running"
    again = later.call("start", name="c-lives", image=IMAGE, argv=["sh", "-c", TRAPPER])
    assert again["already_running"] is True and again["pid"] == lives["pid"]
    assert len(containers(podman_vars, "c-lives")) == 1

    # A start of the exited one runs it anew under the same name: still one container.
    rerun = later.call("start", name="c-exits", image=IMAGE, argv=["sh", "-c", TRAPPER])
    assert rerun["already_running"] is False
    assert [c["State"] for c in containers(podman_vars, "c-exits")] == ["running"]


def test_a_container_whose_folder_is_gone_is_adopted_by_label(
    start_podman_agent: Callable[[], AgentProcess], agent_home: Path, podman_vars: dict[str, str]
) -> None:
    agent = start_podman_agent()
    agent.call("start", name="c-orphan", image=IMAGE, argv=["sh", "-c", TRAPPER])
    wait_until(
        "c-orphan to say ready",
        lambda: "ready" in log_text(agent, "c-orphan"),
        timeout=30,
    )
    agent.call("stop", name="c-orphan", grace_seconds=5)  # the follower ends with it
    agent.call("start", name="c-orphan", image=IMAGE, argv=["sh", "-c", TRAPPER])
    agent.kill_group()
    for path in sorted((agent_home / "workloads" / "c-orphan").rglob("*"), reverse=True):
        path.unlink() if not path.is_dir() else path.rmdir()
    (agent_home / "workloads" / "c-orphan").rmdir()

    later = start_podman_agent()
    adopted = instance(later, "c-orphan")
    assert (adopted["state"], adopted["runtime"], adopted["adopted"]) == ("running", "podman", True)
    assert later.call("remove", name="c-orphan", grace_seconds=0) == {}
    assert containers(podman_vars, "c-orphan") == []


def test_start_failures_say_what_to_do(
    start_podman_agent: Callable[[], AgentProcess],
    start_agent: Callable[..., AgentProcess],
    podman_vars: dict[str, str],
) -> None:
    agent = start_podman_agent()
    with pytest.raises(AgentCallError) as caught:
        agent.call("start", name="c-noimage", image="localhost/no-such-image:1", argv=["true"])
    assert caught.value.code == "start_failed"
    assert "localhost/no-such-image:1" in caught.value.message
    assert "cannot start" in log_text(agent, "c-noimage")
    assert agent.call("hello")["protocol"] == 1

    amd = {"vendor": "amd", "indexes": [0]}  # no /dev/kfd here: the engine refuses the device
    with pytest.raises(AgentCallError) as caught:
        agent.call("start", name="c-amd", image=IMAGE, argv=["true"], gpus=amd)
    assert caught.value.code == "start_failed" and "/dev/kfd" in caught.value.message
    assert containers(podman_vars, "c-amd") == []  # nothing half-made is left behind
    assert [w["name"] for w in agent.call("list")["instances"]] == []

    # A container of that name that is not ours is never taken over, running or not.
    foreign = podman(podman_vars, "run", "-d", "--name", "c-foreign", IMAGE, "sleep", "30")
    assert foreign.returncode == 0, foreign.stderr
    try:
        with pytest.raises(AgentCallError) as caught:
            agent.call("start", name="c-foreign", image=IMAGE, argv=["true"])
        assert caught.value.code == "start_failed"
        assert "not this gpustack workload" in caught.value.message
        assert [c["State"] for c in containers(podman_vars, "c-foreign")] == ["running"]
    finally:
        podman(podman_vars, "rm", "--force", "--time", "0", "c-foreign")

    with pytest.raises(AgentCallError) as caught:
        agent.call("start", name="c-env", image=IMAGE, argv=["true"], env={"A B": "x"})
    assert caught.value.code == "bad_request"

    process_only = start_agent({"GPUSTACK_AGENT_RUNTIME": "process"})
    with pytest.raises(AgentCallError) as caught:
        process_only.call("start", name="c-proc", image=IMAGE, argv=["true"])
    assert caught.value.code == "start_failed"
    assert "install podman or docker, or deploy without an image" in caught.value.message


def test_a_killed_log_follower_is_restarted_by_start(
    start_podman_agent: Callable[[], AgentProcess], agent_home: Path
) -> None:
    agent = start_podman_agent()
    name = "c-follow"
    counter = "i=0; while true; do i=$((i+1)); echo line $i; sleep 0.2; done"
    started = agent.call("start", name=name, image=IMAGE, argv=["sh", "-c", counter])
    wait_until("the third log line", lambda: "line 3" in log_text(agent, name), timeout=30)
    child = json.loads((agent_home / "workloads" / name / "child.json").read_text())
    os.killpg(child["pid"], signal.SIGKILL)  # the follower only: the container runs on
    time.sleep(1)
    size = len(log_text(agent, name))
    time.sleep(1)
    assert len(log_text(agent, name)) == size  # nobody follows now

    again = agent.call("start", name=name, image=IMAGE, argv=["sh", "-c", counter])
    assert again == {"pid": started["pid"], "already_running": True, "runtime": "podman"}
    wait_until(
        "the log to grow",
        lambda: len(log_text(agent, name)) > size + 20,
        timeout=20,
    )
    numbers = [int(line.split()[1]) for line in log_text(agent, name).splitlines()]
    assert numbers[:3] == [1, 2, 3]  # the same log, continued
    assert numbers[-1] > numbers[0]


def test_agents_of_two_homes_on_one_engine_list_only_their_own(
    start_podman_agent: Callable[[], AgentProcess], podman_vars: dict[str, str], tmp_path: Path
) -> None:
    """Two `local:NAME` workers on one host share podman: each lists (and so the server reaps
    through it) only the containers its own home started."""
    mine = start_podman_agent()
    mine.call("start", name="c-mine", image=IMAGE, argv=["sh", "-c", TRAPPER])
    other = AgentProcess(tmp_path / "other-home", dict(podman_vars))
    try:
        other.call("start", name="c-theirs", image=IMAGE, argv=["sh", "-c", TRAPPER])
        listed = {w["name"]: w for w in mine.call("list")["instances"]}
        assert "c-mine" in listed and "c-theirs" not in listed
        assert "gpustack.agent-home" not in listed["c-mine"]["labels"]
        assert {w["name"] for w in other.call("list")["instances"]} == {"c-theirs"}
        (entry,) = containers(podman_vars, "c-theirs")
        assert (
            entry["Labels"]["gpustack.agent-home"]
            != (containers(podman_vars, "c-mine")[0]["Labels"]["gpustack.agent-home"])
        )
    finally:
        other.call("remove", name="c-theirs", grace_seconds=0)
        other.close()
