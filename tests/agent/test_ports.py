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
