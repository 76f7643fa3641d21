"""What requests share besides the rooms, in one process: small records by key (a connection's memory, a queue
ticket, who holds a seat), the connections news can be pushed to, and leases that let one request at a time change
something. redis_link.py keeps the same things in Redis, for every process at once."""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager

log = logging.getLogger(__name__)

Listener = Callable[[str, dict], None]  # (event, data): reaches a connection at once, from any thread


class Notes:
    """JSON-ready records by key, at most `kept`: the least recently used is forgotten first."""

    def __init__(self, kept: int):
        self.kept = kept
        self._notes: OrderedDict[str, dict] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: str) -> dict | None:
        """The record kept under `key` (a copy to change and put back), most recently used now; None if none."""
        with self._lock:
            note = self._notes.pop(key, None)
            if note is None:
                return None
            self._notes[key] = note
            return dict(note)

    def put(self, key: str, note: dict) -> None:
        with self._lock:
            self._notes.pop(key, None)
            self._notes[key] = dict(note)
            while len(self._notes) > self.kept:
                self._notes.popitem(last=False)

    def pop(self, key: str) -> None:
        with self._lock:
            self._notes.pop(key, None)

    def items(self) -> list[tuple[str, dict]]:
        """Every record, by key, least recently used first."""
        with self._lock:
            return [(key, dict(note)) for key, note in self._notes.items()]


class Reach:
    """The connections this process can push news to, by connection key; news to a key nobody here listens on is
    dropped (wait_for_turn, or the room itself, tells them when they look)."""

    def __init__(self) -> None:
        self._listeners: dict[str, Listener] = {}

    def listen(self, key: str, listener: Listener) -> None:
        self._listeners[key] = listener

    def listening(self, key: str) -> bool:
        return key in self._listeners

    def forget(self, key: str) -> None:
        self._listeners.pop(key, None)

    def tell(self, key: str, event: str, data: dict) -> None:
        """News for the connection `key`, wherever it is held."""
        self.deliver(key, event, data)

    def deliver(self, key: str, event: str, data: dict) -> None:
        """News for the connection `key`, if it is held in this process."""
        listener = self._listeners.get(key)
        if listener is not None:
            listener(event, data)


class Leases:
    """One holder at a time of each name, among this process's threads."""

    def __init__(self) -> None:
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()

    @contextmanager
    def held(self, name: str) -> Iterator[None]:
        with self._guard:
            lock = self._locks.setdefault(name, threading.Lock())
        with lock:
            yield
