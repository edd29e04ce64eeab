"""Usage of the inference routes, counted in memory: per deployment and per API key.

Requests, errors, latency percentiles (over the last `LATENCY_WINDOW` requests of each pair) and
tokens read from the answers' `usage` fields. The same figures feed `/metrics` in the Prometheus
text format, from a registry of this server's own (never the process-global one).
"""

from __future__ import annotations

import json
import re
import threading
from bisect import bisect_left
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST as METRICS_CONTENT_TYPE
from prometheus_client import CollectorRegistry, Metric, generate_latest
from prometheus_client.core import CounterMetricFamily, HistogramMetricFamily
from prometheus_client.utils import floatToGoString as _go_float

__all__ = ["METRICS_CONTENT_TYPE", "TokenCounts", "UsageBook", "tokens_from_body"]

_bucket_bound: Callable[[float], str] = _go_float
"""prometheus_client's bucket-bound format ("+Inf", "0.005"), typed (the library is not)."""

LATENCY_WINDOW = 2048
TOKEN_KINDS = ("prompt_tokens", "completion_tokens", "total_tokens")
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
    counts = [0, 0, 0]
    for name, value in usage.items():
        slot = _SLOTS.get(name)
        if slot is not None and isinstance(value, int) and value >= 0:
            counts[slot] = value
    prompt, completion, total = counts
    return TokenCounts(prompt, completion, total or prompt + completion)


_SLOTS = {
    "prompt_tokens": 0,
    "input_tokens": 0,
    "completion_tokens": 1,
    "output_tokens": 1,
    "total_tokens": 2,
}


def loads_json(data: bytes) -> Any:
    """`json.loads` of bytes, without its encoding detection when they are plain UTF-8."""
    if data[:3] != b"\xef\xbb\xbf":
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return json.loads(data)  # UTF-16/32: let json find the encoding
        return _DECODER.decode(text)
    return json.loads(data)


_DECODER = json.JSONDecoder()


_USAGE_OPENS = re.compile(rb"\s*:\s*\{")


def _last_usage_object(body: bytes) -> TokenCounts | None:
    """The last `"usage": {...}` of a JSON answer, parsed alone (the answer's own usage comes
    last at its top level; a quote inside a string is escaped, so no text can fake one). None
    when there is no such object: then the whole answer is parsed."""
    at = body.rfind(b'"usage"')
    opens = _USAGE_OPENS.match(body, at + 7)
    if opens is None:
        return None
    try:
        usage, _ = _DECODER.raw_decode(body[opens.end() - 1 :].decode("utf-8"))
    except ValueError:
        return None
    return _from_usage(usage)


def tokens_from_body(body: bytes, *, streamed: bool) -> TokenCounts | None:
    """The usage of a JSON answer, or of the last server-sent event that carries one."""
    if b'"usage"' not in body:
        return None
    try:
        if not streamed:
            counts = _last_usage_object(body)
            if counts is not None:
                return counts
            parsed: Any = loads_json(body)
            if isinstance(parsed, dict) and isinstance(parsed.get("response"), dict):
                parsed = parsed["response"]  # /v1/responses nests it
            return _from_usage(parsed.get("usage")) if isinstance(parsed, dict) else None
        matches = _USAGE_IN_SSE.findall(body)
        for raw in reversed(matches):
            event = loads_json(raw)
            if isinstance(event, dict):
                if isinstance(event.get("response"), dict):
                    event = event["response"]
                counts = _from_usage(event.get("usage"))
                if counts is not None:
                    return counts
    except (ValueError, UnicodeDecodeError):
        return None
    return None


LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
"""Upper bounds (seconds) of the latency histogram in /metrics."""


@dataclass
class _Line:
    requests: int = 0
    errors: int = 0
    tokens: TokenCounts = field(default_factory=TokenCounts)
    latencies: deque[float] = field(default_factory=lambda: deque(maxlen=LATENCY_WINDOW))
    buckets: list[int] = field(default_factory=lambda: [0] * (len(LATENCY_BUCKETS) + 1))
    latency_sum: float = 0.0


def _percentile(ordered: list[float], q: float) -> float | None:
    if not ordered:
        return None
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


class _Exposition:
    """Builds the Prometheus series from the book's own counts when /metrics is read.

    Counting with prometheus_client's Counter and Histogram took a lock and several calls per
    series on every request; this way a request costs a few integer additions.
    """

    def __init__(self, book: UsageBook) -> None:
        self._book = book

    def collect(self) -> Iterator[Metric]:
        lines = self._book._copy()
        labels = ["deployment", "key"]
        requests = CounterMetricFamily(
            "gpustack_inference_requests", "Inference requests.", labels=labels
        )
        errors = CounterMetricFamily(
            "gpustack_inference_errors",
            "Inference requests answered with status >= 400.",
            labels=labels,
        )
        tokens = CounterMetricFamily(
            "gpustack_inference_tokens",
            "Tokens from the answers' usage fields.",
            labels=[*labels, "kind"],
        )
        latency = HistogramMetricFamily(
            "gpustack_inference_latency_seconds",
            "Time from request to the end of the answer.",
            labels=labels,
        )
        for (deployment, key), line in sorted(lines.items()):
            pair = [deployment, key]
            requests.add_metric(pair, line.requests)
            errors.add_metric(pair, line.errors)
            for kind in TOKEN_KINDS:
                value = getattr(line.tokens, kind)
                tokens.add_metric([*pair, kind.removesuffix("_tokens")], value)
            cumulative, buckets = 0, []
            for bound, count in zip((*LATENCY_BUCKETS, float("inf")), line.buckets, strict=True):
                cumulative += count
                buckets.append((_bucket_bound(bound), cumulative))
            latency.add_metric(pair, buckets, line.latency_sum)
        yield from (requests, errors, tokens, latency)


class UsageBook:
    """Counts requests as the inference routes finish them. Thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._lines: dict[tuple[str, str], _Line] = {}
        self.registry = CollectorRegistry(auto_describe=True)
        self.registry.register(_Exposition(self))

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
        with self._lock:
            line = self._lines.get(pair)
            if line is None:
                line = self._lines[pair] = _Line()
            line.requests += 1
            if status >= 400:
                line.errors += 1
            line.latencies.append(seconds)
            line.buckets[bisect_left(LATENCY_BUCKETS, seconds)] += 1
            line.latency_sum += seconds
            if tokens is not None:
                total = line.tokens
                total.prompt_tokens += tokens.prompt_tokens
                total.completion_tokens += tokens.completion_tokens
                total.total_tokens += tokens.total_tokens

    def _copy(self) -> dict[tuple[str, str], _Line]:
        with self._lock:
            return {
                pair: _Line(
                    line.requests,
                    line.errors,
                    TokenCounts(**vars(line.tokens)),
                    line.latencies,
                    list(line.buckets),
                    line.latency_sum,
                )
                for pair, line in self._lines.items()
            }

    def snapshot(self) -> dict[str, list[dict[str, Any]]]:
        """Rows per deployment and per key: requests, errors, latency p50/p90/p99 (ms), tokens."""
        with self._lock:
            lines = {pair: (line, sorted(line.latencies)) for pair, line in self._lines.items()}
        pairs = [
            {"deployment": d, "key": k, **self._row([(lines[(d, k)])])} for d, k in sorted(lines)
        ]
        by_deployment: dict[str, list[tuple[_Line, list[float]]]] = {}
        by_key: dict[str, list[tuple[_Line, list[float]]]] = {}
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
