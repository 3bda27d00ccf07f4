"""`Recent`: values read from the database and reused briefly on the serving path.

A prompt request needs the caller's key, the pool's index version and its template; reading them
from the database costs more than the search itself at small pools. `Recent` keeps each value for
at most ``ttl`` seconds, and never past a change made in this process: the `ServiceContext` counts
its changes (`ServiceContext.changed`) and an entry read before the latest change is read again.
So a change made through this workspace is seen at once, and one made by another process (another
API worker, a CLI) within ``ttl`` seconds.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

__all__ = ["Recent"]

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


class Recent(Generic[K, V]):
    """``get(key, load)``: ``load()``'s value, reused while younger than ``ttl`` seconds and while
    ``generation()`` has not moved. ``ttl=0`` disables reuse. At most ``max_entries`` are kept
    (the oldest are dropped first). Thread-safe; ``load`` runs outside the lock.

    When an entry's ``ttl`` has passed (and nothing changed in this process), one thread reads it
    again while the others keep getting the old value meanwhile, so that a busy server does not
    run the same query from every request thread at once each time the ``ttl`` passes."""

    def __init__(
        self,
        ttl: float,
        generation: Callable[[], int],
        *,
        max_entries: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.ttl, self.generation, self.max_entries, self.clock = float(ttl), generation, int(max_entries), clock
        self._lock = threading.Lock()
        self._entries: dict[K, tuple[float, int, V]] = {}
        self._loading: set[K] = set()  # keys being read again after their ttl

    def get(self, key: K, load: Callable[[], V]) -> V:
        if self.ttl <= 0:
            return load()
        now, gen = self.clock(), self.generation()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[1] == gen:
                if now - entry[0] < self.ttl:
                    return entry[2]
                if key in self._loading:  # another thread is reading it again: use the old value
                    return entry[2]
            self._loading.add(key)
        try:
            value = load()
        finally:
            with self._lock:
                self._loading.discard(key)
        with self._lock:
            if len(self._entries) >= self.max_entries:
                for old in list(self._entries)[: max(1, self.max_entries // 10)]:
                    del self._entries[old]
            self._entries[key] = (now, gen, value)
        return value

    def drop(self, key: K | None = None) -> None:
        """Forget ``key`` (every entry when None)."""
        with self._lock:
            if key is None:
                self._entries.clear()
            else:
                self._entries.pop(key, None)
