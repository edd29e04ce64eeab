"""The states of a lean client connection and the moves between them, written down in one place.

A connection answers its requests one at a time, in order. Requests that a client pipelines
behind the one being answered wait in line, already parsed; while any wait, reading from the
client pauses (as uvicorn does), so that a client cannot make the server buffer without bound
behind a slow answer: at most what one read brought. The line moves on, and reading resumes,
as each answer is done.

    from       to         when
    IDLE       RECEIVING  a request begins
    RECEIVING  ANSWERING  it is ready
    ANSWERING  IDLE       its answer is done and none waits
    ANSWERING  RECEIVING  its answer is done and the next in line is not ready yet
    ANSWERING  CLOSING    the server stops, or the client sent what cannot be read
    CLOSING    CLOSED     its answer is done
    any other  CLOSED     either side closes (a stop, an idle or stalled client, a bad request,
                          an answer that ends the connection, a client that left)

When an answer is done and the next in line is ready, the connection stays ANSWERING and answers
it (on the next turn of the event loop, so that a line of answers given at once never nests).
A request is ready when the lean path can answer it (its body is whole) or, for one handed to
the ASGI app, once its head is in (its body streams to the app).
"""

from __future__ import annotations

import enum


class ConnectionState(enum.IntEnum):
    """Where a lean client connection stands (an IntEnum: its members hash as fast as ints, and
    a connection moves a few times per request)."""

    IDLE = 1
    """No request: waiting for the next one. The idle sweep closes it after a silence."""
    RECEIVING = 2
    """The first request in line is still arriving (the lean path waits for a whole body). The
    idle sweep closes a client that stalls here."""
    ANSWERING = 3
    """The first request in line is being answered; the ones behind it wait."""
    CLOSING = 4
    """As ANSWERING, but this answer is the last: the server is stopping, or what the client
    sent next cannot be read. The connection closes once the answer is done."""
    CLOSED = 5
    """Closed by either side: nothing more is read, written or started."""


IDLE = ConnectionState.IDLE
RECEIVING = ConnectionState.RECEIVING
ANSWERING = ConnectionState.ANSWERING
CLOSING = ConnectionState.CLOSING
CLOSED = ConnectionState.CLOSED

MOVES: dict[ConnectionState, frozenset[ConnectionState]] = {
    IDLE: frozenset({RECEIVING, CLOSED}),
    RECEIVING: frozenset({ANSWERING, CLOSED}),
    ANSWERING: frozenset({IDLE, RECEIVING, CLOSING, CLOSED}),
    CLOSING: frozenset({CLOSED}),
    CLOSED: frozenset(),
}
"""The states each state may move to; every other move is a bug."""

BUSY = frozenset({ANSWERING, CLOSING})
"""States in which an answer is being sent: the idle sweep and a graceful stop wait for it."""


class IllegalMove(RuntimeError):
    """A connection was asked to move between two states that `MOVES` does not join."""


def check_move(current: ConnectionState, to: ConnectionState) -> None:
    """Raise IllegalMove unless `MOVES` lets `current` move to `to`."""
    if to not in MOVES[current]:
        raise IllegalMove(f"a lean connection cannot move from {current.name} to {to.name}")
