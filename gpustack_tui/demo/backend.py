"""A small, real OpenAI-compatible HTTP server (standard library only): the model backend of
`gpustack-tui demo`, and the custom backend of the end-to-end tests (tests/openai_test_backend.py
runs this module).

Run it as the "custom backend" of a deployment::

    python -m gpustack_tui.demo.backend --port P --model-name NAME \
        [--host H] [--model-path PATH] [--chunk-delay SECONDS]

Endpoints:

- ``GET /v1/models``: lists NAME.
- ``POST /v1/chat/completions``: the assistant echoes the last user message, with usage;
  ``"stream": true`` sends one SSE chunk per word (``data: {...}\\n\\n``, flushed each,
  ``--chunk-delay`` apart), a final chunk with ``finish_reason``, then ``data: [DONE]``.
- ``POST /v1/completions``: echoes the prompt (streams too).
- ``POST /v1/embeddings``: deterministic 8-dimensional unit vectors.
- Any other path and method: a JSON echo ``{"method", "path", "query", "headers", "body"}`` of
  what arrived (``query`` raw, ``headers`` lower-cased, ``body`` as text).

Every answer carries ``X-Backend-Port`` and ``X-Backend-Model``. Prints a startup line
(``openai_test_backend: serving NAME on http://H:PORT``, the real port when ``--port 0``) and one
line per request to stdout, flushed. Exits cleanly (status 0) on SIGTERM or SIGINT. With
``--model-path`` that does not exist, refuses to start: a message on stderr, exit status 2.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import signal
import socket
import sys
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import FrameType
from typing import Any

EMBEDDING_DIM = 8


def _words(text: str) -> list[str]:
    return text.split()


def _text_of(content: Any) -> str:
    """The text of a chat message's content: a string, or a list of parts."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(
            str(part.get("text", "")) for part in content if isinstance(part, dict)
        ).strip()
    return ""


def embedding(text: str) -> list[float]:
    """A deterministic unit vector for `text`."""
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    raw = [(digest[i] - 127.5) / 127.5 for i in range(EMBEDDING_DIM)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [round(x / norm, 6) for x in raw]


class Handler(BaseHTTPRequestHandler):
    """One request; the server's settings live on `self.server`."""

    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: BackendServer

    # -- plumbing -------------------------------------------------------------------------------

    def log_message(self, format: str, *args: Any) -> None:
        print(f"[{self.server.model_name}:{self.server.port}] {format % args}", flush=True)

    def _read_body(self) -> bytes:
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            parts: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                parts.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length > 0 else b""

    def _start(self, status: int, content_type: str, extra: dict[str, str]) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("X-Backend-Port", str(self.server.port))
        self.send_header("X-Backend-Model", self.server.model_name)
        for name, value in extra.items():
            self.send_header(name, value)

    def _send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload).encode("utf-8")
        self._start(status, "application/json", {"Content-Length": str(len(data))})
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)
        self.wfile.flush()

    def _send_error(self, status: int, message: str, code: str) -> None:
        self._send_json(
            status, {"error": {"message": message, "type": "invalid_request_error", "code": code}}
        )

    def _send_sse(self, events: Iterator[dict[str, Any]]) -> None:
        """Send each event as one SSE chunk (HTTP chunked encoding), `chunk_delay` apart."""
        self._start(200, "text/event-stream", {"Cache-Control": "no-cache"})
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        sent = 0
        try:
            for event in events:
                if sent:
                    time.sleep(self.server.chunk_delay)
                self._write_chunk(f"data: {json.dumps(event)}\n\n".encode())
                sent += 1
            self._write_chunk(b"data: [DONE]\n\n")
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True
            self.log_message("stream aborted after %d chunks: client disconnected", sent)
            return
        self.log_message("stream complete: %d chunks", sent)

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    def _json_body(self, body: bytes) -> dict[str, Any] | None:
        try:
            parsed = json.loads(body or b"{}")
        except ValueError:
            parsed = None
        if not isinstance(parsed, dict):
            self._send_error(400, "the request body is not a JSON object", "invalid_json")
            return None
        return parsed

    # -- dispatch -------------------------------------------------------------------------------

    def _handle(self) -> None:
        body = self._read_body()
        path, _, query = self.path.partition("?")
        route = (self.command, path.rstrip("/"))
        if route == ("GET", "/v1/models"):
            self._models()
        elif route == ("POST", "/v1/chat/completions"):
            self._chat(body)
        elif route == ("POST", "/v1/completions"):
            self._completions(body)
        elif route == ("POST", "/v1/embeddings"):
            self._embeddings(body)
        else:
            self._echo(path, query, body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    # -- endpoints ------------------------------------------------------------------------------

    def _models(self) -> None:
        model = {
            "id": self.server.model_name,
            "object": "model",
            "created": self.server.started,
            "owned_by": "openai-test-backend",
        }
        if self.server.model_path:
            model["root"] = self.server.model_path
        self._send_json(200, {"object": "list", "data": [model]})

    def _chat(self, body: bytes) -> None:
        request = self._json_body(body)
        if request is None:
            return
        messages = request.get("messages") or []
        if not isinstance(messages, list):
            self._send_error(400, "messages must be a list", "invalid_messages")
            return
        user = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
        reply = _text_of(user[-1].get("content")) if user else ""
        prompt_tokens = sum(len(_words(_text_of(m.get("content")))) for m in user)
        usage = _usage(prompt_tokens, len(_words(reply)))
        ident, created, model = f"chatcmpl-{time.time_ns()}", int(time.time()), self._model(request)
        if not request.get("stream"):
            choice = {
                "index": 0,
                "message": {"role": "assistant", "content": reply},
                "finish_reason": "stop",
            }
            self._send_json(
                200,
                {
                    "id": ident,
                    "object": "chat.completion",
                    "created": created,
                    "model": model,
                    "choices": [choice],
                    "usage": usage,
                },
            )
            return

        def events() -> Iterator[dict[str, Any]]:
            base = {"id": ident, "object": "chat.completion.chunk", "created": created}
            base["model"] = model
            for i, word in enumerate(_words(reply)):
                delta = (
                    {"role": "assistant", "content": word} if i == 0 else {"content": " " + word}
                )
                yield {**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]}
            yield {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}
            if (request.get("stream_options") or {}).get("include_usage"):
                yield {**base, "choices": [], "usage": usage}

        self._send_sse(events())

    def _completions(self, body: bytes) -> None:
        request = self._json_body(body)
        if request is None:
            return
        prompt = request.get("prompt", "")
        text = " ".join(prompt) if isinstance(prompt, list) else str(prompt)
        usage = _usage(len(_words(text)), len(_words(text)))
        ident, created, model = f"cmpl-{time.time_ns()}", int(time.time()), self._model(request)
        if not request.get("stream"):
            choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": "stop"}
            self._send_json(
                200,
                {
                    "id": ident,
                    "object": "text_completion",
                    "created": created,
                    "model": model,
                    "choices": [choice],
                    "usage": usage,
                },
            )
            return

        def events() -> Iterator[dict[str, Any]]:
            base = {"id": ident, "object": "text_completion", "created": created, "model": model}
            for i, word in enumerate(_words(text)):
                piece = word if i == 0 else " " + word
                yield {**base, "choices": [{"index": 0, "text": piece, "finish_reason": None}]}
            yield {**base, "choices": [{"index": 0, "text": "", "finish_reason": "stop"}]}

        self._send_sse(events())

    def _embeddings(self, body: bytes) -> None:
        request = self._json_body(body)
        if request is None:
            return
        given = request.get("input", "")
        inputs = given if isinstance(given, list) else [given]
        texts = [x if isinstance(x, str) else json.dumps(x) for x in inputs]
        tokens = sum(len(_words(t)) for t in texts)
        data = [
            {"object": "embedding", "index": i, "embedding": embedding(t)}
            for i, t in enumerate(texts)
        ]
        self._send_json(
            200,
            {
                "object": "list",
                "data": data,
                "model": self._model(request),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    def _echo(self, path: str, query: str, body: bytes) -> None:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        self._send_json(
            200,
            {
                "method": self.command,
                "path": path,
                "query": query,
                "headers": headers,
                "body": body.decode("utf-8", errors="replace"),
            },
        )

    def _model(self, request: dict[str, Any]) -> str:
        model = request.get("model")
        return model if isinstance(model, str) and model else self.server.model_name


def _usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


class BackendServer(ThreadingHTTPServer):
    """The HTTP server with this backend's settings."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        model_name: str,
        model_path: str | None,
        chunk_delay: float,
    ) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        super().__init__(address, Handler)
        self.model_name = model_name
        self.model_path = model_path
        self.chunk_delay = chunk_delay
        self.started = int(time.time())

    @property
    def port(self) -> int:
        """The port it listens on (the real one when asked for port 0)."""
        return int(self.server_address[1])


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, serve until SIGTERM/SIGINT, return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True, help="port to listen on (0: any)")
    parser.add_argument("--model-name", required=True, help="the model name it serves")
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--model-path", help="model files; refuses to start when missing")
    parser.add_argument(
        "--chunk-delay", type=float, default=0.05, help="seconds between stream chunks"
    )
    args = parser.parse_args(argv)
    if args.model_path and not os.path.exists(args.model_path):
        print(
            f"openai_test_backend: error: --model-path {args.model_path} does not exist",
            file=sys.stderr,
            flush=True,
        )
        return 2

    server = BackendServer(
        (args.host, args.port),
        model_name=args.model_name,
        model_path=args.model_path,
        chunk_delay=args.chunk_delay,
    )

    def stop(signum: int, _frame: FrameType | None) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    where = f"{args.host}:{server.port}" if ":" not in args.host else f"[{args.host}]:{server.port}"
    print(f"openai_test_backend: serving {args.model_name} on http://{where}", flush=True)
    try:
        server.serve_forever()
    except SystemExit:
        pass
    finally:
        server.server_close()
        print("openai_test_backend: stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
