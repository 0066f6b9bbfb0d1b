"""A small per-process cache of what a page computed for one scope at one version of the data.

The dashboard of a 10,000-patient registry costs most of a second of CPU (every patient
read, EFS and OS derived, two Kaplan–Meier curves drawn as SVG), the same for every user
of the same scope until the data change. :class:`ScopeCache` keeps the newest results,
keyed by (scope, data version) with :func:`bassinet.application.queries.data_version` as
the version, so that any write to the registry (every one adds audit entries) makes the
next request compute afresh. Each server process (uvicorn worker) has its own cache.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class ScopeCache(Generic[T]):
    """A least-recently-used map of at most ``size`` entries, safe to share between threads.

    A missing entry is computed by one thread only: others asking for the same key meanwhile
    wait for it (50 users opening the dashboard just after a write cost one computation, not
    50 at once, each holding a database connection), while other keys are served or computed
    without waiting. If the computation fails, the next thread to ask computes it again.
    """

    def __init__(self, size: int = 32) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, T] = OrderedDict()
        self._computing: dict[Hashable, threading.Lock] = {}
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.waits = 0

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The entry of ``key``, computed with ``compute()`` and kept if there was none."""
        while True:
            with self._lock:
                if key in self._entries:
                    self._entries.move_to_end(key)
                    self.hits += 1
                    return self._entries[key]
                gate = self._computing.get(key)
                if gate is None:
                    gate = self._computing[key] = threading.Lock()
                    gate.acquire()
                    self.misses += 1
                    break
                self.waits += 1
            with gate:  # another thread computes this entry: wait for it, then look again
                pass
        try:
            value = compute()
            with self._lock:
                self._entries[key] = value
                while len(self._entries) > self._size:
                    self._entries.popitem(last=False)
        finally:
            with self._lock:
                del self._computing[key]
            gate.release()
        return value

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
