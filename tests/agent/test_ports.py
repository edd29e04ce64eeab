"""`allocate_port`: free ports only, one per workload name, reservations that outlive the agent."""

from __future__ import annotations

import socket
import sys
from collections.abc import Callable, Iterator

import pytest

from tests.agent.conftest import AgentCallError, AgentProcess


@pytest.fixture
def held_port() -> Iterator[int]:
    """A port this test holds bound and listening (chosen by the kernel)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        port = sock.getsockname()[1]
        if port + 8 > 65535:
            pytest.skip("the kernel picked a port too close to 65535")
        yield port


def test_allocate_port_skips_bound_and_reserved_ports(
    start_agent: Callable[..., AgentProcess], held_port: int
) -> None:
    env = {"GPUSTACK_AGENT_PORT_RANGE": f"{held_port}-{held_port + 8}"}
    agent = start_agent(env)
    ports = {name: agent.call("allocate_port", name=name)["port"] for name in ["a", "b", "c"]}
    assert held_port not in ports.values()
    assert len(set(ports.values())) == 3
    assert all(held_port < p <= held_port + 8 for p in ports.values())
    assert agent.call("allocate_port", name="a")["port"] == ports["a"]

    later = start_agent(env)  # reservations are on disk: a new agent honours them
    assert later.call("allocate_port", name="b")["port"] == ports["b"]
    d_port = later.call("allocate_port", name="d")["port"]
    assert d_port not in {held_port, *ports.values()}

    later.call("start", name="a", argv=[sys.executable, "-c", "pass"])
    (listed,) = later.call("list")["instances"]
    assert listed["port"] == ports["a"]

    later.call("remove", name="c")  # dropping a workload frees its port
    assert later.call("allocate_port", name="e")["port"] not in {held_port, ports["a"], d_port}


def test_allocate_port_when_the_range_is_full(
    start_agent: Callable[..., AgentProcess], held_port: int
) -> None:
    agent = start_agent({"GPUSTACK_AGENT_PORT_RANGE": f"{held_port}-{held_port}"})
    with pytest.raises(AgentCallError) as caught:
        agent.call("allocate_port", name="a")
    assert caught.value.code == "internal"
    assert str(held_port) in caught.value.message

    broken = start_agent({"GPUSTACK_AGENT_PORT_RANGE": "lots"})
    with pytest.raises(AgentCallError) as caught:
        broken.call("allocate_port", name="a")
    assert "GPUSTACK_AGENT_PORT_RANGE" in caught.value.message


def test_agents_of_two_homes_on_one_machine_never_reserve_one_port_twice(
    held_port: int, tmp_path
) -> None:
    """Several `local:NAME` workers on one host: a port one home reserved (its workload not
    listening yet) is not handed out by the other; once the workload is removed it is free."""
    env = {
        "GPUSTACK_AGENT_PORT_RANGE": f"{held_port + 1}-{held_port + 2}",
        "GPUSTACK_AGENT_PORTS_DIR": str(tmp_path / "shared"),
    }
    first = AgentProcess(tmp_path / "home-1", env)
    second = AgentProcess(tmp_path / "home-2", env)
    try:
        one = first.call("allocate_port", name="a")["port"]
        two = second.call("allocate_port", name="b")["port"]
        assert {one, two} == {held_port + 1, held_port + 2}
        with pytest.raises(AgentCallError) as full:
            second.call("allocate_port", name="c")  # both reserved, neither bound
        assert "no free port" in full.value.message
        first.call("remove", name="a")
        assert second.call("allocate_port", name="c")["port"] == one
        # The shared note names the workload folder; once that folder is gone (removed, or a
        # wiped home) the note is stale: dropped, not honoured.
        note = tmp_path / "shared" / str(two)
        assert note.read_text() == str(tmp_path / "home-2" / "workloads" / "b")
        second.call("remove", name="b")
        assert first.call("allocate_port", name="d")["port"] == two
    finally:
        first.close()
        second.close()
