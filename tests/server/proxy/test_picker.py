"""Round-robin choice of upstreams."""

from __future__ import annotations

import threading
from collections import Counter

import pytest

from gpustack_tui.server.proxy import RoundRobinPicker

UPSTREAMS = ("http://a:1", "http://b:1", "http://c:1")


def test_rotation_is_deterministic() -> None:
    picker = RoundRobinPicker()
    picks = [picker.pick("m", UPSTREAMS) for _ in range(7)]
    assert picks == [*UPSTREAMS, *UPSTREAMS, UPSTREAMS[0]]


def test_order_puts_the_pick_first_then_the_rest_in_rotation() -> None:
    picker = RoundRobinPicker()
    assert picker.order("m", UPSTREAMS) == UPSTREAMS
    assert picker.order("m", UPSTREAMS) == ("http://b:1", "http://c:1", "http://a:1")
    assert picker.order("m", UPSTREAMS) == ("http://c:1", "http://a:1", "http://b:1")


def test_each_deployment_rotates_on_its_own() -> None:
    picker = RoundRobinPicker()
    assert picker.pick("a", UPSTREAMS) == UPSTREAMS[0]
    assert picker.pick("b", UPSTREAMS) == UPSTREAMS[0]
    assert picker.pick("a", UPSTREAMS) == UPSTREAMS[1]
    picker.forget("a")
    assert picker.pick("a", UPSTREAMS) == UPSTREAMS[0]
    assert picker.pick("b", UPSTREAMS) == UPSTREAMS[1]


def test_changing_upstreams_keeps_rotating() -> None:
    picker = RoundRobinPicker()
    picker.pick("m", UPSTREAMS)
    assert picker.pick("m", UPSTREAMS[:2]) == UPSTREAMS[1]
    assert picker.pick("m", UPSTREAMS[:1]) == UPSTREAMS[0]


def test_empty() -> None:
    picker = RoundRobinPicker()
    assert picker.order("m", ()) == ()
    with pytest.raises(ValueError, match="no upstream"):
        picker.pick("m", ())


def test_threads_share_it_evenly() -> None:
    picker = RoundRobinPicker()
    counts: Counter[str] = Counter()
    lock = threading.Lock()

    def work() -> None:
        local = Counter(picker.pick("m", UPSTREAMS) for _ in range(3000))
        with lock:
            counts.update(local)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counts == dict.fromkeys(UPSTREAMS, 8000)
