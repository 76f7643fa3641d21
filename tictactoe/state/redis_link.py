"""The link to Redis that every part kept there shares: one connection pool whose every call is time-boxed and, for a
moment after a failure, fails at once (a Redis that is down costs a request a 503 in milliseconds, not a wait on
the event loop); and what requests share besides rooms (shared.py's notes, reach and leases) kept there for every
process, with a thread per process that hears the others' news."""

from __future__ import annotations

import json
import logging
import queue
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from tictactoe.game.errors import StoreUnavailable
from tictactoe.state.shared import Notes, Reach

log = logging.getLogger(__name__)

CONNECT_SECONDS = 1.0  # to open a connection to Redis
COMMAND_SECONDS = 2.0  # for Redis to answer one command
BREAK_SECONDS = 1.0  # after a failure, calls fail at once this long before Redis is tried again
LEASE_MS = 1000  # a lease lapses this long after it was taken, should its holder die holding it
LEASE_WAIT = 1.5  # seconds a request waits for a lease another process holds, then it is told to retry
LISTEN_SECONDS = 0.02  # the listening thread looks this often whether it should stop, or follow a channel more
RELEASE = "if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"


class Breaker:
    """Open for BREAK_SECONDS after a failure: calls meanwhile fail at once instead of each waiting on Redis."""

    def __init__(self) -> None:
        self.open_until = 0.0

    def check(self) -> None:
        if time.monotonic() < self.open_until:
            raise redis.ConnectionError("Redis failed a moment ago")

    def trip(self) -> None:
        self.open_until = time.monotonic() + BREAK_SECONDS


class Guarded:
    """A connection that minds the breaker: it trips it when Redis fails, and does not try while it is open."""

    breaker: Breaker

    def connect(self) -> None:
        self.breaker.check()
        try:
            super().connect()
        except redis.RedisError:
            self.breaker.trip()
            raise

    def read_response(self, *args, **kwargs):
        try:
            return super().read_response(*args, **kwargs)
        except (redis.ConnectionError, redis.TimeoutError):
            self.breaker.trip()
            raise


class Link:
    """A Redis client on one guarded pool, its keys and channels under `prefix`."""

    def __init__(self, url: str, prefix: str = "tictactoe:"):
        self.prefix = prefix
        self.breaker = Breaker()
        base = redis.SSLConnection if url.startswith("rediss:") else redis.Connection
        guarded = type("GuardedConnection", (Guarded, base), {"breaker": self.breaker})
        self.pool = redis.ConnectionPool.from_url(
            url,
            connection_class=guarded,
            socket_connect_timeout=CONNECT_SECONDS,
            socket_timeout=COMMAND_SECONDS,
            retry=Retry(NoBackoff(), 0),  # a failed call is the caller's to retry, not redis-py's to repeat
        )
        self.client = redis.Redis(connection_pool=self.pool)
        self._release = self.client.register_script(RELEASE)

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def close(self) -> None:
        self.pool.disconnect()

    @contextmanager
    def lease(self, name: str, acquire: Callable[[str], object] | None = None) -> Iterator[Lease]:
        """Hold the lease `name` (a key) among every process: taken by `acquire(token)` (a script that may also read
        what the holder needs) or a plain SET NX, waiting while another holds it; released on the way out, unless
        the holder's last write released it already."""
        lease = Lease(secrets.token_hex(8))
        take = acquire or (lambda token: calling(self.client.set, name, token, nx=True, px=LEASE_MS))
        deadline = time.monotonic() + LEASE_WAIT
        while not (taken := take(lease.token)):
            if time.monotonic() > deadline:
                raise StoreUnavailable()
            time.sleep(0.002)  # its holder is mid-change, for a millisecond or so
        lease.taken = taken
        try:
            yield lease
        finally:
            if not lease.released:
                try:
                    self._release(keys=[name], args=[lease.token])
                except redis.RedisError:
                    log.warning("could not release a lease in Redis; it lapses by itself within a second")


@dataclass
class Lease:
    """A lease held: its token, what taking it read, and whether it is released already. A room's change that holds
    none has one too, never taken (`taken` None): its token, which no lease has, is what its save checks against."""

    token: str
    taken: object = None
    released: bool = False
    began: int = 0  # for a room's: the version the change under it began from


def calling(command: Callable, *args, **kwargs):
    """`command(*args, **kwargs)` on Redis; a Redis that fails or is unreachable is StoreUnavailable."""
    try:
        return command(*args, **kwargs)
    except redis.RedisError as error:
        raise StoreUnavailable() from error


class RedisNotes:
    """shared.Notes kept in Redis as JSON, each forgotten `ttl` seconds after it was last put; read from `here` (this
    process's copies) first, if given, when no other process writes them."""

    def __init__(self, link: Link, kind: str, ttl: float, here: Notes | None = None):
        self.link = link
        self.kind = kind
        self.ttl_ms = int(ttl * 1000)
        self.here = here

    def get(self, key: str) -> dict | None:
        if self.here is not None and (note := self.here.get(key)) is not None:
            return note
        raw = calling(self.link.client.get, self.link.key("note", self.kind, key))
        note = None if raw is None else json.loads(raw)
        if note is not None and self.here is not None:
            self.here.put(key, note)
        return note

    def put(self, key: str, note: dict) -> None:
        raw = json.dumps(note, ensure_ascii=False)
        calling(self.link.client.set, self.link.key("note", self.kind, key), raw, px=self.ttl_ms)
        if self.here is not None:
            self.here.put(key, note)

    def pop(self, key: str) -> None:
        calling(self.link.client.delete, self.link.key("note", self.kind, key))
        if self.here is not None:
            self.here.pop(key)

    def items(self) -> list[tuple[str, dict]]:
        """Every record of every process, by key: a scan of Redis's keys, for a rare look at them all."""
        named = self.link.key("note", self.kind, "")
        keys = calling(lambda: list(self.link.client.scan_iter(match=f"{named}*", count=1000)))
        found = []
        for start in range(0, len(keys), 1000):
            batch = keys[start : start + 1000]
            raws = calling(self.link.client.mget, batch)
            found += [
                (key.decode()[len(named) :], json.loads(raw))
                for key, raw in zip(batch, raws, strict=True)
                if raw is not None
            ]
        return found


class RedisReach(Reach):
    """shared.Reach across processes: news is published, and each process delivers it to its own listeners."""

    def __init__(self, link: Link):
        super().__init__()
        self.link = link
        self.channel = link.key("news")

    def tell(self, key: str, event: str, data: dict) -> None:
        news = json.dumps({"to": key, "event": event, "data": data}, ensure_ascii=False)
        calling(self.link.client.publish, self.channel, news)

    def heard(self, raw: bytes) -> None:
        """News another process (or this one) published."""
        news = json.loads(raw)
        self.deliver(news["to"], news["event"], news["data"])


class Listening(threading.Thread):
    """A thread that hears `channels` and hands each message to its handler, and those followed (`follow`) for as long
    as they are; after Redis comes back from a failure it calls `rejoined`, for whatever changed while it could not
    hear."""

    def __init__(self, link: Link, handlers: dict[str, Callable[[bytes], None]], rejoined: Callable[[], None]):
        super().__init__(name="redis-listening", daemon=True)
        self.link = link
        self.handlers = dict(handlers)  # changed by this thread alone, as it follows and unfollows
        self.rejoined = rejoined
        self.stopping = threading.Event()
        self._asked: queue.SimpleQueue = queue.SimpleQueue()  # (channel, handler or None to unfollow, then)

    def follow(self, channel: str, handler: Callable[[bytes], None], then: Callable[[], None]) -> None:
        """Hear `channel` too, from within LISTEN_SECONDS until `unfollow`: each message to `handler`; `then` is
        called once it is heard, for whatever was said before."""
        self._asked.put((channel, handler, then))

    def unfollow(self, channel: str) -> None:
        self._asked.put((channel, None, None))

    def run(self) -> None:
        while not self.stopping.is_set():
            try:
                self._hear()
            except redis.RedisError:
                self.stopping.wait(BREAK_SECONDS)
            except Exception:  # noqa: BLE001  (a bug in a handler must not stop every later message)
                log.exception("a message from Redis could not be handled")

    def _hear(self) -> None:
        pubsub = self.link.client.pubsub(ignore_subscribe_messages=True)
        try:
            pubsub.subscribe(*self.handlers)
            self.rejoined()
            while not self.stopping.is_set():
                self._follow_asked(pubsub)
                message = pubsub.get_message(timeout=LISTEN_SECONDS)
                if message is not None and (handler := self.handlers.get(message["channel"].decode())) is not None:
                    handler(message["data"])  # none for a channel just unfollowed
        finally:
            pubsub.close()

    def _follow_asked(self, pubsub) -> None:
        """Subscribe to the channels asked for since last time, and unsubscribe from those let go."""
        while not self._asked.empty():
            channel, handler, then = self._asked.get_nowait()
            if handler is None:
                self.handlers.pop(channel, None)
                pubsub.unsubscribe(channel)
                continue
            self.handlers[channel] = handler
            pubsub.subscribe(channel)
            then()

    def stop(self) -> None:
        self.stopping.set()
        self.join(timeout=5)
