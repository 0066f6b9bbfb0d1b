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

    :meth:`get` computes a missing entry outside the lock (two threads may compute the same
    entry once each; both results are equal), so a slow computation never blocks the others.
    """

    def __init__(self, size: int = 32) -> None:
        self._size = size
        self._entries: OrderedDict[Hashable, T] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, compute: Callable[[], T]) -> T:
        """The entry of ``key``, computed with ``compute()`` and kept if there was none."""
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                self.hits += 1
                return self._entries[key]
            self.misses += 1
        value = compute()
        with self._lock:
            self._entries[key] = value
            self._entries.move_to_end(key)
            while len(self._entries) > self._size:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        """Forget every entry."""
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)
