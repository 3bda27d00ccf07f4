"""The two serving-path helpers: `Recent` (brief reuse of database reads) and `MicroBatcher`."""

from __future__ import annotations

import threading
import time

import pytest

from fewshot.service._batcher import MicroBatcher
from fewshot.service._recent import Recent


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_recent_reuses_within_ttl_and_rereads_after_it():
    clock, generation, loads = Clock(), [0], []
    recent: Recent[str, int] = Recent(1.0, lambda: generation[0], clock=clock)

    def load() -> int:
        loads.append(1)
        return len(loads)

    assert recent.get("a", load) == 1
    clock.now = 0.9
    assert recent.get("a", load) == 1  # still fresh
    clock.now = 1.0
    assert recent.get("a", load) == 2  # ttl passed: read again
    assert recent.get("b", load) == 3  # another key


def test_recent_rereads_after_a_change_in_this_process():
    clock, generation, loads = Clock(), [0], []
    recent: Recent[str, int] = Recent(60.0, lambda: generation[0], clock=clock)
    load = lambda: loads.append(1) or len(loads)  # noqa: E731
    assert recent.get("a", load) == 1
    generation[0] += 1  # ServiceContext.changed()
    assert recent.get("a", load) == 2
    assert recent.get("a", load) == 2


def test_recent_ttl_zero_always_reads_and_failures_are_not_kept():
    recent: Recent[str, int] = Recent(0, lambda: 0)
    loads = []
    assert [recent.get("a", lambda: loads.append(1) or len(loads)) for _ in range(3)] == [1, 2, 3]
    cached: Recent[str, int] = Recent(60, lambda: 0)

    def fail() -> int:
        raise KeyError("gone")

    with pytest.raises(KeyError):
        cached.get("a", fail)
    assert cached.get("a", lambda: 7) == 7


def test_recent_bounds_its_size():
    recent: Recent[int, int] = Recent(60, lambda: 0, max_entries=10)
    for i in range(25):
        recent.get(i, lambda i=i: i)
    assert len(recent._entries) <= 10


def test_batcher_returns_each_callers_own_result_and_batches_concurrent_callers():
    release = threading.Event()
    sizes = []

    def square(items: list[int]) -> list[int]:
        sizes.append(len(items))
        if len(sizes) == 1:
            release.wait(5)  # hold the first batch so that the others queue up behind it
        return [x * x for x in items]

    batcher: MicroBatcher[int, int] = MicroBatcher(square, max_batch=8)
    results: dict[int, int] = {}

    def call(x: int) -> None:
        results[x] = batcher.submit(x)

    threads = [threading.Thread(target=call, args=(i,)) for i in range(20)]
    threads[0].start()
    time.sleep(0.2)  # thread 0 leads a batch of one and blocks in it
    for t in threads[1:]:
        t.start()
    time.sleep(0.3)
    release.set()
    for t in threads:
        t.join(10)
    assert results == {i: i * i for i in range(20)}
    assert sizes[0] == 1 and max(sizes) == 8  # the 19 waiting callers ran in batches of up to 8
    assert batcher.items == 20 and batcher.batches == len(sizes) < 20


def test_batcher_raises_the_error_in_every_caller_of_the_batch_and_goes_on():
    def boom(items: list[int]) -> list[int]:
        if -1 in items:
            raise ValueError("bad item")
        return items

    batcher: MicroBatcher[int, int] = MicroBatcher(boom)
    with pytest.raises(ValueError, match="bad item"):
        batcher.submit(-1)
    assert batcher.submit(3) == 3  # not stuck after a failure
    wrong: MicroBatcher[int, int] = MicroBatcher(lambda items: [])
    with pytest.raises(RuntimeError, match="0 results for 1 items"):
        wrong.submit(1)


def test_recent_reads_an_expired_value_again_in_one_thread_while_the_others_keep_the_old_one():
    clock = Clock()
    recent: Recent[str, int] = Recent(1.0, lambda: 0, clock=clock)
    assert recent.get("a", lambda: 1) == 1
    clock.now = 5.0  # expired
    started, release, loads = threading.Event(), threading.Event(), []

    def slow() -> int:
        loads.append(1)
        started.set()
        release.wait(5)
        return 2

    reader = threading.Thread(target=lambda: recent.get("a", slow))
    reader.start()
    assert started.wait(5)
    assert [recent.get("a", slow) for _ in range(5)] == [1] * 5  # no second query, the old value
    release.set()
    reader.join(5)
    assert recent.get("a", slow) == 2 and loads == [1]
