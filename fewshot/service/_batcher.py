"""`MicroBatcher`: concurrent callers' single items run together as one batch.

The API answers each prompt request in its own thread. Searching an exact index costs one pass
over all its vectors per call, whatever the number of queries in the call, so sixteen concurrent
requests that search one at a time pay sixteen passes where one batched search pays one. A
`MicroBatcher` lets each thread `submit` its item and get its own result back, while the items of
the threads waiting at that moment run as one call of ``fn``.

No thread waits on a timer: the first caller runs at once, and callers arriving while a batch
runs form the next one (batches grow with the load, a lone request is never delayed). One of the
waiting threads runs each batch (no extra thread is started).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Generic, TypeVar

__all__ = ["MicroBatcher"]

T = TypeVar("T")
R = TypeVar("R")


class _Slot(Generic[T, R]):
    __slots__ = ("item", "done", "result", "error")

    def __init__(self, item: T) -> None:
        self.item = item
        self.done = False
        self.result: R | None = None
        self.error: BaseException | None = None


class MicroBatcher(Generic[T, R]):
    """``submit(item) -> result``, where results come from ``fn(items) -> results`` (one result
    per item, in order) called on up to ``max_batch`` items submitted concurrently. An exception
    raised by ``fn`` is raised in every caller of that batch. ``batches`` and ``items`` count the
    calls and items run so far (for tests and metrics)."""

    def __init__(self, fn: Callable[[list[T]], Sequence[R]], *, max_batch: int = 32) -> None:
        if max_batch < 1:
            raise ValueError("max_batch must be >= 1")
        self.fn, self.max_batch = fn, int(max_batch)
        self._cond = threading.Condition()
        self._pending: list[_Slot[T, R]] = []
        self._running = False
        self.batches = 0
        self.items = 0

    def submit(self, item: T) -> R:
        slot: _Slot[T, R] = _Slot(item)
        with self._cond:
            self._pending.append(slot)
        while True:
            with self._cond:
                while not slot.done and self._running:
                    self._cond.wait()
                if slot.done:
                    break
                self._running = True  # this thread runs the next batch
                batch = self._pending[: self.max_batch]
                del self._pending[: self.max_batch]
            try:
                self._run(batch)
            finally:
                with self._cond:
                    self._running = False
                    self._cond.notify_all()
        if slot.error is not None:
            raise slot.error
        return slot.result  # type: ignore[return-value]

    def _run(self, batch: list[_Slot[T, R]]) -> None:
        try:
            results = list(self.fn([s.item for s in batch]))
            if len(results) != len(batch):
                raise RuntimeError(f"batch function returned {len(results)} results for {len(batch)} items")
        except BaseException as exc:  # noqa: BLE001 - handed to every caller of the batch
            for s in batch:
                s.error, s.done = exc, True
            return
        finally:
            self.batches += 1
            self.items += len(batch)
        for s, r in zip(batch, results):
            s.result, s.done = r, True
