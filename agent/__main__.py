"""`python3 -u -m agent`: answer JSON-lines requests on stdin until EOF."""

from __future__ import annotations

import json
import os
import sys
from typing import Any, BinaryIO, Dict

from agent.dispatch import handle
from agent.errors import BAD_REQUEST


def _private_stdout() -> BinaryIO:
    # Answers go to a private copy of stdout; fd 1 becomes stderr, so a stray print() or a
    # library writing to stdout can never put a broken line in the protocol stream.
    out = os.fdopen(os.dup(1), "wb")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    return out


def _decode(line: bytes) -> Any:
    try:
        return json.loads(line.decode("utf-8"))
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        return exc


def answer(line: bytes) -> Dict[str, Any]:
    """The answer to one raw request line."""
    request = _decode(line)
    if isinstance(request, ValueError):
        error = {"code": BAD_REQUEST, "message": f"not a JSON line: {request}"}
        return {"id": None, "error": error}
    return handle(request)


def serve(requests: BinaryIO, out: BinaryIO) -> None:
    """Answer each line of `requests` on `out`, one JSON line each, in order, until EOF."""
    for line in requests:
        if not line.strip():
            continue
        data = json.dumps(answer(line)) + "\n"
        out.write(data.encode("utf-8"))
        out.flush()


def main() -> int:
    """Entry point; exits 0 at EOF or when the server goes away."""
    out = _private_stdout()
    try:
        serve(sys.stdin.buffer, out)
    except (BrokenPipeError, KeyboardInterrupt):
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
