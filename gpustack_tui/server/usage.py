"""Usage of the inference routes, counted in memory: per deployment and per API key.

Requests, errors, latency percentiles (over the last `LATENCY_WINDOW` requests of each pair) and
tokens read from the answers' `usage` fields. The same figures feed `/metrics` in the Prometheus
text format, from a registry of this server's own (never the process-global one).
"""

from __future__ import annotations

import json
import re
import threading
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST as METRICS_CONTENT_TYPE
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest

__all__ = ["METRICS_CONTENT_TYPE", "TokenCounts", "UsageBook", "tokens_from_body"]

LATENCY_WINDOW = 2048
TOKEN_KINDS = ("prompt_tokens", "completion_tokens", "total_tokens")
_INPUT_OUTPUT = {"input_tokens": "prompt_tokens", "output_tokens": "completion_tokens"}
_USAGE_IN_SSE = re.compile(rb"^data:\s*(\{.*\"usage\".*\})\s*$", re.MULTILINE)
NO_KEY = "-"


@dataclass
class TokenCounts:
    """Tokens named by one answer's `usage` object."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


def _from_usage(usage: object) -> TokenCounts | None:
    if not isinstance(usage, dict):
        return None
    counts = TokenCounts()
    for name, value in usage.items():
        target = _INPUT_OUTPUT.get(name, name)
        if target in TOKEN_KINDS and isinstance(value, int) and value >= 0:
            setattr(counts, target, value)
    if not counts.total_tokens:
        counts.total_tokens = counts.prompt_tokens + counts.completion_tokens
    return counts


def tokens_from_body(body: bytes, *, streamed: bool) -> TokenCounts | None:
    """The usage of a JSON answer, or of the last server-sent event that carries one."""
    if b'"usage"' not in body:
        return None
    try:
        if not streamed:
            parsed: Any = json.loads(body)
            if isinstance(parsed, dict) and isinstance(parsed.get("response"), dict):
                parsed = parsed["response"]  # /v1/responses nests it
            return _from_usage(parsed.get("usage")) if isinstance(parsed, dict) else None
        matches = _USAGE_IN_SSE.findall(body)
        for raw in reversed(matches):
            event = json.loads(raw)
            if isinstance(event, dict):
                if isinstance(event.get("response"), dict):
                    event = event["response"]
                counts = _from_usage(event.get("usage"))
                if counts is not None:
                    return counts
    except (ValueError, UnicodeDecodeError):
        return None
    return None


@dataclass
class _Line:
    requests: int = 0
    errors: int = 0
    tokens: TokenCounts = field(default_factory=TokenCounts)
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))


def _percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class UsageBook:
    """Counts requests as the inference routes finish them. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: dict[tuple[str, str], _Line] = {}
        self._children: dict[tuple[str, str], tuple[Any, Any, Any, dict[str, Any]]] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        labels = ["deployment", "key"]
        self._requests = Counter(
            "gpustack_inference_requests", "Inference requests.", labels, registry=self.registry
        )
        self._errors = Counter(
            "gpustack_inference_errors",
            "Inference requests answered with status >= 400.",
            labels,
            registry=self.registry,
        )
        self._tokens = Counter(
            "gpustack_inference_tokens",
            "Tokens from the answers' usage fields.",
            [*labels, "kind"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "gpustack_inference_latency_seconds",
            "Time from request to the end of the answer.",
            labels,
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
        )

    def record(
        self,
        deployment: str,
        key: str | None,
        *,
        status: int,
        seconds: float,
        tokens: TokenCounts | None = None,
    ) -> None:
        """Count one finished request."""
        pair = (deployment, key or NO_KEY)
        failed = status >= 400
        with self._lock:
            line = self._lines.setdefault(pair, _Line())
            line.requests += 1
            line.errors += failed
            line.latencies.append(seconds)
            if tokens is not None:
                for kind in TOKEN_KINDS:
                    setattr(line.tokens, kind, getattr(line.tokens, kind) + getattr(tokens, kind))
        children = self._children.get(pair)
        if children is None:  # labels() validates and locks: look each pair's series up once
            children = (
                self._requests.labels(*pair),
                self._errors.labels(*pair),
                self._latency.labels(*pair),
                {k: self._tokens.labels(*pair, k.removesuffix("_tokens")) for k in TOKEN_KINDS},
            )
            self._children[pair] = children
        requests, errors, latency, token_series = children
        requests.inc()
        if failed:
            errors.inc()
        latency.observe(seconds)
        if tokens is not None:
            for kind in TOKEN_KINDS:
                if getattr(tokens, kind):
                    token_series[kind].inc(getattr(tokens, kind))

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Rows per deployment and per key: requests, errors, latency p50/p90/p99 (ms), tokens."""
        with self._lock:
            lines = {pair: (line, sorted(line.latencies)) for pair, line in self._lines.items()}
        pairs = [
            {"deployment": d, "key": k, **self._row([(lines[(d, k)])])} for d, k in sorted(lines)
        ]
        by_deployment: dict[str, list] = {}
        by_key: dict[str, list] = {}
        for (deployment, key), value in lines.items():
            by_deployment.setdefault(deployment, []).append(value)
            by_key.setdefault(key, []).append(value)
        return {
            "deployments": [
                {"deployment": d, **self._row(v)} for d, v in sorted(by_deployment.items())
            ],
            "keys": [{"key": k, **self._row(v)} for k, v in sorted(by_key.items())],
            "pairs": pairs,
        }

    @staticmethod
    def _row(values: list[tuple[_Line, list[float]]]) -> dict[str, Any]:
        latencies = sorted(x for _line, ordered in values for x in ordered)
        row: dict[str, Any] = {
            "requests": sum(line.requests for line, _ in values),
            "errors": sum(line.errors for line, _ in values),
        }
        for name, q in (("p50_ms", 0.5), ("p90_ms", 0.9), ("p99_ms", 0.99)):
            value = _percentile(latencies, q)
            row[name] = None if value is None else round(value * 1000, 3)
        for kind in TOKEN_KINDS:
            row[kind] = sum(getattr(line.tokens, kind) for line, _ in values)
        return row

    def metrics(self) -> bytes:
        """The Prometheus text exposition of every counter."""
        return generate_latest(self.registry)
