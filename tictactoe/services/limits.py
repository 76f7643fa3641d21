"""Per-client rate limits: a token bucket for each client and action, in a bounded table."""

from __future__ import annotations

import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping

from tictactoe.game.errors import RateLimited

CLIENTS_TRACKED = 50_000  # buckets kept; the least recently used is forgotten first (a forgotten bucket is full)


class RateLimiter:
    """`per_minute[action]` calls a minute per client for each action, in bursts of up to that many; 0: no limit."""

    def __init__(self, per_minute: Mapping[str, int], clock: Callable[[], float] = time.monotonic):
        self.per_minute = dict(per_minute)
        self._clock = clock
        self._buckets: OrderedDict[tuple[str, str], tuple[float, float]] = OrderedDict()  # -> (tokens, at)
        self._lock = threading.Lock()

    def hit(self, client: str, action: str) -> None:
        """Count one `action` by `client`, or raise RateLimited saying when the next one is allowed."""
        limit = self.per_minute.get(action, 0)
        if limit <= 0:
            return
        rate = limit / 60  # tokens per second
        now = self._clock()
        key = (client, action)
        with self._lock:
            tokens, at = self._buckets.pop(key, (limit, now))
            tokens = min(limit, tokens + (now - at) * rate)
            if tokens < 1:
                self._buckets[key] = (tokens, now)
                wait = math.ceil((1 - tokens) / rate)
                raise RateLimited(f"Too many {action} requests: the limit is {limit} a minute.", wait)
            self._buckets[key] = (tokens - 1, now)
            while len(self._buckets) > CLIENTS_TRACKED:
                self._buckets.popitem(last=False)
