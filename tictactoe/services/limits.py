"""Per-client rate limits, by the `limits` library: a moving window per client and action, counted in memory or in
Redis (every process's calls together)."""

from __future__ import annotations

import math
import time
from collections.abc import Mapping

from limits import RateLimitItemPerMinute
from limits.errors import StorageError
from limits.storage import MemoryStorage, Storage
from limits.strategies import MovingWindowRateLimiter

from tictactoe.game.errors import RateLimited, StoreUnavailable


class RateLimiter:
    """`per_minute[action]` calls by one client in any minute, for each action; 0: no limit. Counted in `storage`
    (this process's memory unless told)."""

    def __init__(self, per_minute: Mapping[str, int], storage: Storage | None = None):
        self.per_minute = dict(per_minute)
        self._items = {action: RateLimitItemPerMinute(limit) for action, limit in per_minute.items() if limit > 0}
        self._windows = MovingWindowRateLimiter(storage or MemoryStorage(wrap_exceptions=True))

    def hit(self, client: str, action: str) -> None:
        """Count one `action` by `client`, or raise RateLimited saying when the next one is allowed (StoreUnavailable
        if the count cannot be kept)."""
        item = self._items.get(action)
        if item is None:
            return
        try:
            if self._windows.hit(item, action, client):
                return
            reset, _ = self._windows.get_window_stats(item, action, client)
        except StorageError as error:
            raise StoreUnavailable() from error
        wait = max(1, math.ceil(reset - time.time()))
        raise RateLimited(f"Too many {action} requests: the limit is {item.amount} a minute.", wait)
