"""Per-client rate limits: a moving window of one minute per client and action, counted in this process's memory,
or in Redis by the `limits` library (every process's calls together)."""

from __future__ import annotations

import bisect
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Mapping

from limits import RateLimitItem, RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import Storage
from limits.strategies import MovingWindowRateLimiter

from tictactoe.game.errors import RateLimited, StoreUnavailable

WINDOWS_KEPT = 50_000  # clients' windows (one per action) kept in memory; the least recently used is forgotten first


class RateLimiter:
    """`per_minute[action]` calls by one client in any minute, for each action; 0: no limit. Counted in this
    process's memory, or in `storage` (Redis) if given."""

    def __init__(self, per_minute: Mapping[str, int], storage: Storage | None = None):
        self.per_minute = dict(per_minute)
        self._items = {action: RateLimitItemPerMinute(limit) for action, limit in per_minute.items() if limit > 0}
        self._windows = LocalWindows() if storage is None else SharedWindows(storage)

    def hit(self, client: str, action: str) -> None:
        """Count one `action` by `client`, or raise RateLimited saying when the next one is allowed (StoreUnavailable
        if the count cannot be kept)."""
        item = self._items.get(action)
        if item is None:
            return
        try:
            free_at = self._windows.hit(item, action, client)
        except StorageError as error:
            raise StoreUnavailable() from error
        if free_at is None:
            return
        wait = max(1, math.ceil(free_at - time.time()))
        raise RateLimited(f"Too many {action} requests: the limit is {item.amount} a minute.", wait)


class LocalWindows:
    """Each client's calls still in their window, oldest first, in this process's memory.

    Calls that have left a window are dropped when it is next looked at. (The `limits` library's MemoryStorage
    drops them from a thread it starts every 10 ms, which walks every client's window each time: 40% of a core
    once 10,000 clients have called in the last minute.) Past WINDOWS_KEPT windows, the least recently used is
    forgotten, and its client starts afresh."""

    def __init__(self, kept: int = WINDOWS_KEPT):
        self._calls: OrderedDict[tuple[str, str], list[float]] = OrderedDict()
        self._kept = kept
        self._lock = threading.Lock()  # Flask's threads and the event loop hit it alike

    def hit(self, item: RateLimitItem, action: str, client: str) -> float | None:
        """Count one call if the window has room for it: None; else when its oldest call leaves it."""
        now, key = time.time(), (action, client)
        with self._lock:
            calls = self._calls.get(key)
            if calls is None:
                calls = self._calls[key] = []
                if len(self._calls) > self._kept:
                    self._calls.popitem(last=False)
            else:
                self._calls.move_to_end(key)
                del calls[: bisect.bisect_right(calls, now - item.get_expiry())]
            if len(calls) >= item.amount:
                return calls[0] + item.get_expiry()
            calls.append(now)
            return None


class SharedWindows:
    """The windows in Redis, by the `limits` library's moving window: every process's calls together."""

    def __init__(self, storage: Storage):
        self._limiter = MovingWindowRateLimiter(storage)

    def hit(self, item: RateLimitItem, action: str, client: str) -> float | None:
        """Count one call if the window has room for it: None; else when its oldest call leaves it."""
        if self._limiter.hit(item, action, client):
            return None
        reset, _ = self._limiter.get_window_stats(item, action, client)
        return reset
