"""The lean connection's states, driven by hand: a fake transport, a handler that answers when the
test says so. Which moves are allowed, when reading pauses, the order of answers, a stop."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest

from gpustack_tui.server.proxy.lean_request import Incoming
from gpustack_tui.server.proxy.lean_server import ClientConnection, LeanService
from gpustack_tui.server.proxy.lean_state import (
    ANSWERING,
    CLOSED,
    CLOSING,
    IDLE,
    MOVES,
    RECEIVING,
    ConnectionState,
    IllegalMove,
    check_move,
)


class FakeTransport:
    """What a connection calls on its transport, recorded."""

    def __init__(self) -> None:
        self.written: list[bytes] = []
        self.reading = True
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"peername": ("127.0.0.1", 50000), "sockname": ("127.0.0.1", 80)}.get(name)

    def pause_reading(self) -> None:
        self.reading = False

    def resume_reading(self) -> None:
        self.reading = True

    def write(self, data: bytes) -> None:
        self.written.append(bytes(data))

    def writelines(self, lines: list[bytes]) -> None:
        self.written.append(b"".join(lines))

    def close(self) -> None:
        self.closed = True


class HeldHandler:
    """Takes lean requests and answers none until `answer` is called."""

    def __init__(self) -> None:
        self.given: list[tuple[ClientConnection, Incoming]] = []

    def handle(self, conn: ClientConnection, request: Incoming) -> None:
        self.given.append((conn, request))

    def prompts(self) -> list[str]:
        return [json.loads(b"".join(request.body))["prompt"] for _, request in self.given]

    def answer(self, index: int) -> None:
        conn, request = self.given[index]
        body = json.loads(b"".join(request.body))["prompt"].encode()
        conn.respond(request, 200, [], body)
        conn.finish(request)


async def _no_app(scope: Any, receive: Any, send: Any) -> None:
    raise AssertionError("no request here goes to the app")


def _request(prompt: str) -> bytes:
    body = json.dumps({"model": "m", "prompt": prompt}).encode()
    head = b"POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
    return head + b"Content-Length: %d\r\n\r\n" % len(body) + body


def _connection() -> tuple[ClientConnection, FakeTransport, HeldHandler]:
    handler = HeldHandler()
    conn = ClientConnection(LeanService(handler, _no_app))
    transport = FakeTransport()
    conn.connection_made(transport)  # type: ignore[arg-type]
    return conn, transport, handler


def test_every_state_but_closed_may_close_and_closed_is_final() -> None:
    for state in ConnectionState:
        assert (CLOSED in MOVES[state]) is (state is not CLOSED)
    assert MOVES[CLOSED] == frozenset()
    check_move(ANSWERING, CLOSING)
    for current, to in ((IDLE, ANSWERING), (CLOSING, IDLE), (CLOSED, IDLE), (RECEIVING, IDLE)):
        with pytest.raises(IllegalMove):
            check_move(current, to)


async def test_pipelined_requests_wait_unread_and_are_answered_in_order() -> None:
    conn, transport, handler = _connection()
    assert conn.state is IDLE
    conn.data_received(_request("a") + _request("b") + _request("c"))
    assert handler.prompts() == ["a"]  # one at a time
    assert conn.state is ANSWERING and len(conn.line) == 3
    assert not transport.reading  # two wait: read no further

    handler.answer(0)
    await asyncio.sleep(0)  # the next starts on the next turn of the loop
    assert handler.prompts() == ["a", "b"] and conn.state is ANSWERING
    assert not transport.reading  # one still waits behind "b"

    handler.answer(1)
    await asyncio.sleep(0)
    assert handler.prompts() == ["a", "b", "c"]
    assert transport.reading  # none waits: read what comes next

    handler.answer(2)
    assert conn.state is IDLE and not conn.line
    answers = [piece.rsplit(b"\r\n\r\n", 1)[1] for piece in transport.written]
    assert answers == [b"a", b"b", b"c"]
    assert not transport.closed


async def test_a_request_in_pieces_is_received_then_answered() -> None:
    conn, transport, handler = _connection()
    whole = _request("pieces")
    conn.data_received(whole[:40])
    assert conn.state is RECEIVING and not handler.given
    conn.data_received(whole[40:])
    assert conn.state is ANSWERING and handler.prompts() == ["pieces"]
    assert transport.reading  # nothing waits behind it
    handler.answer(0)
    assert conn.state is IDLE


async def test_a_stop_lets_the_answer_finish_then_closes_and_drops_what_waits() -> None:
    conn, transport, handler = _connection()
    conn.data_received(_request("a") + _request("b"))
    conn.shutdown()
    assert conn.state is CLOSING and not transport.closed
    conn.shutdown()  # uvicorn and LeanService.close may ask again
    assert conn.state is CLOSING
    handler.answer(0)
    assert conn.state is CLOSED and transport.closed
    await asyncio.sleep(0)
    assert handler.prompts() == ["a"]  # "b" was never started
    assert len(transport.written) == 1


async def test_an_idle_connection_closes_at_once_on_a_stop() -> None:
    conn, transport, _ = _connection()
    conn.shutdown()
    assert conn.state is CLOSED and transport.closed


async def test_unreadable_bytes_behind_an_answer_end_the_connection_after_it() -> None:
    conn, transport, handler = _connection()
    conn.data_received(_request("a") + b"\x00\x01 not http\r\n\r\n")
    assert conn.state is CLOSING and not transport.closed
    assert not transport.written  # no 400 cutting into the answer being sent
    handler.answer(0)
    assert conn.state is CLOSED and transport.closed
    assert len(transport.written) == 1 and transport.written[0].endswith(b"\r\n\r\na")


async def test_unreadable_bytes_alone_get_a_400_and_the_close() -> None:
    conn, transport, _ = _connection()
    conn.data_received(b"\x00\x01 not http\r\n\r\n")
    assert transport.written[0].startswith(b"HTTP/1.1 400 Bad Request")
    assert conn.state is CLOSED and transport.closed


async def test_a_client_that_leaves_mid_answer_ends_everything() -> None:
    conn, transport, handler = _connection()
    conn.data_received(_request("a") + _request("b"))
    conn.connection_lost(None)
    assert conn.state is CLOSED and not conn.line
    handler.answer(0)  # the relay finishing late changes nothing
    await asyncio.sleep(0)
    assert conn.state is CLOSED and handler.prompts() == ["a"]
    assert not transport.written
