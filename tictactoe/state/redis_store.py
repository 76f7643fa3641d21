"""Rooms kept in Redis (REDIS_URL), shared by every process that points at it: the same interface as RoomStore.

Each room is a hash, `room:<id>`: its version `v`, its snapshot `s` (Room.snapshot(), as JSON) and `t`, until when
the opponent may be thinking in it (0: it is not). Redis expires it `ttl` seconds after its last change, as it does
`watch:<watch_id>` (the room's id), and the sorted set `rooms` (ids by expiry) counts the rooms against the cap.

A change is decided on the room at hand (which the call has just looked at, as a rule) and saved by a script that
checks, all at once, that the room is still at the version the change began from and that no other process holds
its lease (`lease:<id>`), counts a game just finished in the scores, releases the lease if the change held it, and
publishes `<id> <version>` on `changes:<id>`. A change another process's change got to first is Overtaken, and made
again (Room.attempts) holding the lease, taken with the room's newest version in one script, so that it is decided
on the room as it stands. As a rule a change costs the call's look and its own save; one another process got to
first costs a hold and a second save more (and a refusal, one more look to confirm it).
Each process keeps the rooms it uses as objects; one whose version moved on elsewhere is brought up to date when
it is next asked for, or at once if someone here waits on it: a process hears the changes of those rooms alone,
so that a change nobody else waits on wakes no other process (nor its own listening thread).
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager

from tictactoe.game.errors import GameError, Overtaken, RoomNotFound, StoreUnavailable, TooManyRooms
from tictactoe.state.redis_link import LEASE_MS, Lease, Link, Listening, RedisNotes, RedisReach, calling
from tictactoe.state.redis_scores import COUNT, RedisScores
from tictactoe.state.room import Room
from tictactoe.state.scores import results
from tictactoe.state.shared import Notes
from tictactoe.state.store import not_found

log = logging.getLogger(__name__)

RECENT = 2048  # rooms each process keeps at hand besides those in use (a room's object costs ~6 KB)
ADD = """
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', ARGV[1])
if redis.call('ZCARD', KEYS[3]) >= tonumber(ARGV[3]) then
  return {0, redis.call('ZRANGE', KEYS[3], 0, 0, 'WITHSCORES')[2]}
end
redis.call('HSET', KEYS[1], 'v', '0', 's', ARGV[6], 't', '0')
redis.call('PEXPIRE', KEYS[1], ARGV[2])
redis.call('SET', KEYS[2], ARGV[4], 'PX', ARGV[2])
redis.call('ZADD', KEYS[3], tonumber(ARGV[1]) + tonumber(ARGV[2]), ARGV[4])
return {1, 0}
"""
FRESH = """
local v = redis.call('HGET', KEYS[1], 'v')
if not v then return {-1} end
if v == ARGV[1] then return {v, redis.call('HGET', KEYS[1], 't')} end
return redis.call('HMGET', KEYS[1], 'v', 't', 's')
"""
HOLD = "if not redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then return 0 end\n" + FRESH
SAVE = (
    COUNT
    + """
local holder = redis.call('GET', KEYS[4])
if (holder and holder ~= ARGV[10]) or redis.call('HGET', KEYS[1], 'v') ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 's', ARGV[4], 't', ARGV[5])
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[7])
redis.call('ZADD', KEYS[3], tonumber(ARGV[6]) + tonumber(ARGV[7]), ARGV[8])
if ARGV[11] == '1' then count(ARGV[1], 12) end
if redis.call('GET', KEYS[4]) == ARGV[10] then redis.call('DEL', KEYS[4]) end
redis.call('PUBLISH', ARGV[9], ARGV[8] .. ' ' .. ARGV[3])
return 1
"""
)


class RedisRoomStore:
    """Rooms, scores, notes, news and leases in Redis at `url`, under `prefix`; a room whose opponent has been
    thinking `thinking` seconds with no answer is taken for one whose process died mid-turn."""

    durable = True

    def __init__(self, url: str, ttl: float = 3600.0, capacity: int = 10_000, thinking: float = 130.0,
                 prefix: str = "tictactoe:"):  # fmt: skip
        self.ttl = ttl
        self.capacity = capacity
        self.thinking = thinking
        self.link = Link(url, prefix)
        self.scores = RedisScores(self.link)
        self.reach = RedisReach(self.link)
        client = self.link.client
        self._add, self._fresh = client.register_script(ADD), client.register_script(FRESH)
        self._hold, self._save = client.register_script(HOLD), client.register_script(SAVE)
        self._rooms: OrderedDict[str, Room] = OrderedDict()  # those used here last, the latest last
        # Every room's one object in this process, for as long as anything holds it (_rooms, a request, a live
        # page between two waits): a room let go from _rooms but still held is found again, not made twice.
        self._alive: weakref.WeakValueDictionary[str, Room] = weakref.WeakValueDictionary()
        self._rooms_lock = threading.Lock()  # the listening thread looks rooms up too
        self._committing, self._holding, self._awaiting = self._commit, self._held, self._follow  # one for every room
        self._followed: set[str] = set()  # the rooms whose changes this process hears, by id
        self._leases: dict = {}  # the lease each room changing here holds, by id
        self._contended: set[str] = set()  # the rooms whose next change here holds the lease, by id
        self.process = secrets.token_hex(8)  # this process, among those on the one Redis
        # Heard by nobody: subscribed while the process runs, so that Redis itself can say whether it still does.
        presence = {self._presence(self.process): lambda _: None}
        self._listening = Listening(self.link, {self.reach.channel: self.reach.heard, **presence}, self._rejoined)
        self._listening.start()

    def close(self) -> None:
        self._listening.stop()
        self.link.close()

    def notes(self, kind: str, kept: int, read_here: bool = False) -> RedisNotes:
        """Records of `kind`, each kept in Redis as long as a room is after its last change; with `read_here`, the
        `kept` last used are also read from this process's memory, which alone writes them."""
        return RedisNotes(self.link, kind, self.ttl, Notes(kept) if read_here else None)

    def lease(self, name: str) -> AbstractContextManager:
        return self.link.lease(self.link.key("lease", name))

    def stranded_rooms(self) -> list[str]:
        """None: with every process on one Redis, the seats' holders are noted there, with their processes, and
        outlive them (People scans the notes, which finds what a scan of every room would, for less)."""
        return []

    def running(self, process: str) -> bool:
        """Whether the process `process` (a store's `process`) still runs: whether its subscription to its presence
        channel is open, which Redis drops as soon as its connection closes, however the process ended."""
        if process == self.process:
            return True
        ((_, subscribers),) = calling(self.link.client.pubsub_numsub, self._presence(process))
        return subscribers > 0

    def _presence(self, process: str) -> str:
        return self.link.key("process", process)

    def add(self, difficulty: str | None, opponent_name: str, two_people: bool = False) -> Room:
        room = self._kept(Room(secrets.token_urlsafe(16), difficulty, opponent_name, two_people))
        now_ms, ttl_ms = int(time.time() * 1000), int(self.ttl * 1000)
        keys = [self._key(room.id), self.link.key("watch", room.watch_id), self.link.key("rooms")]
        snapshot = json.dumps(room.snapshot(), ensure_ascii=False)
        added, first = calling(
            self._add, keys=keys, args=[now_ms, ttl_ms, self.capacity, room.id, room.watch_id, snapshot]
        )
        if not added:
            wait = max(1, math.ceil(min(float(first) - now_ms, ttl_ms) / 1000))
            raise TooManyRooms(f"The server holds its maximum of {self.capacity} games.", wait)
        return room

    def get(self, room_id: str) -> Room:
        room = self._alive.get(room_id)
        known = room.version if room is not None else -1
        return self._fresh_room(room_id, room, calling(self._fresh, keys=[self._key(room_id)], args=[known]))

    def get_many(self, room_ids: Iterable[str]) -> list[Room]:
        """The rooms of `room_ids` that are still there, in their order: one round trip for all of them."""
        with self._rooms_lock:
            held = [(room_id, self._alive.get(room_id)) for room_id in room_ids]
        pipe = self.link.client.pipeline(transaction=False)
        for room_id, room in held:
            self._fresh(keys=[self._key(room_id)], args=[room.version if room is not None else -1], client=pipe)
        found = []
        for (room_id, room), answer in zip(held, calling(pipe.execute) if held else [], strict=True):
            with contextlib.suppress(RoomNotFound):
                found.append(self._fresh_room(room_id, room, answer))
        return found

    def watched(self, watch_id: str) -> Room:
        """The room a spectator link names."""
        room_id = calling(self.link.client.get, self.link.key("watch", watch_id))
        if room_id is None:
            raise not_found("No game to watch at this link", self.ttl)
        return self.get(room_id.decode())

    def __len__(self) -> int:
        return calling(self.link.client.zcount, self.link.key("rooms"), int(time.time() * 1000), "+inf")

    def _key(self, room_id: str) -> str:
        return self.link.key("room", room_id)

    def _lease_key(self, room: Room) -> str:
        return self.link.key("lease", room.id)

    def _kept(self, room: Room) -> Room:
        """`room`, now this store's to keep and this process's to hold at hand."""
        room.on_change, room.held, room.on_awaited = self._committing, self._holding, self._awaiting
        with self._rooms_lock:
            self._alive[room.id] = room
        self._at_hand(room)
        return room

    def _at_hand(self, room: Room | None, room_id: str = "") -> None:
        """Keep `room` at hand as the one used last; without one, let `room_id` go. Past RECENT, the least recently
        used go first, but never one somebody here waits on; one let go that something still holds is found again
        (`_alive`), and heard of again once someone waits on it."""
        with self._rooms_lock:
            if room is None:
                self._rooms.pop(room_id, None)
                self._unfollow(room_id)
                return
            self._rooms[room.id] = room
            self._rooms.move_to_end(room.id)
            if len(self._rooms) > RECENT:
                for oldest in [kept for kept, held in self._rooms.items() if not held.awaited()][: -RECENT or None]:
                    del self._rooms[oldest]
                    self._unfollow(oldest)

    def _follow(self, room: Room) -> None:
        """Someone here waits on `room`: hear its changes, from now until it is no longer at hand."""
        with self._rooms_lock:
            if room.id in self._followed:
                return
            self._followed.add(room.id)
        self._listening.follow(self._changes(room.id), self._changed_elsewhere, lambda: self._caught_up(room.id))

    def _unfollow(self, room_id: str) -> None:
        """Hear no more of a room's changes. Call with `_rooms_lock` held."""
        if room_id in self._followed:
            self._followed.discard(room_id)
            self._listening.unfollow(self._changes(room_id))

    def _changes(self, room_id: str) -> str:
        return self.link.key("changes", room_id)

    def _fresh_room(self, room_id: str, room: Room | None, answer: list) -> Room:
        """The room as Redis has it (`answer` of FRESH): `room` brought up to date, or made anew if not at hand."""
        if int(answer[0]) == -1:
            self._at_hand(None, room_id)
            raise not_found(f"No room {room_id!r}", self.ttl)
        thinking = float(answer[1] or 0) > time.time()
        if len(answer) == 3:
            newer = Room.restore(json.loads(answer[2]))
            newer.thinking = thinking
            if room is None:
                return self._kept(newer)
            with room.lock:
                if newer.version > room.version:  # not what a change here has just moved past
                    room.adopt(newer)
        elif room is not None and room.thinking and not thinking:
            with room.lock:
                if room.version == int(answer[0]):
                    room.thinking = False  # whoever was thinking is gone: the next look finishes the turn
        self._at_hand(room)
        return room

    @contextmanager
    def _held(self, room: Room) -> Iterator[None]:
        """Around a change, which is decided on the room at hand with no round trip before it. Its save checks that
        the room is still at the version the change began from and that no other process holds its lease, and a
        refusal is given only if Redis has the room at that version too. Otherwise the change is Overtaken, and the
        next one on the room (Room.attempts makes it at once) holds the lease while it is decided, on the room as
        Redis has it."""
        if room.id in self._contended:
            self._contended.discard(room.id)
            with self._leased(room):
                yield
            return
        self._leases[room.id] = Lease(secrets.token_hex(8), began=room.version)  # a token no lease has
        try:
            yield
        except Overtaken:
            self._contended.add(room.id)
            raise
        except GameError as refused:
            if isinstance(refused, StoreUnavailable) or self._current(room):
                raise
            self._contended.add(room.id)
            raise Overtaken() from refused
        finally:
            del self._leases[room.id]

    @contextmanager
    def _leased(self, room: Room) -> Iterator[None]:
        """Around a change: the room's lease held, and the room brought up to date under it."""
        keys = [self._key(room.id), self._lease_key(room)]
        take = lambda token: calling(self._hold, keys=keys, args=[room.version, token, LEASE_MS])  # noqa: E731
        with self.link.lease(keys[1], take) as lease:
            self._fresh_room(room.id, room, lease.taken)
            lease.began = room.version
            self._leases[room.id] = lease
            try:
                yield
            finally:
                del self._leases[room.id]

    def _current(self, room: Room) -> bool:
        """Whether Redis has the room at the version this copy has."""
        return len(calling(self._fresh, keys=[self._key(room.id)], args=[room.version])) == 2

    def _commit(self, room: Room) -> None:
        """Save the change under way, and score a game it finished, if the room is still at the version the change
        began from and no other process holds its lease; else the change is Overtaken (StoreUnavailable if it held
        the lease, which lapsed: the room is as Redis has it at the next look)."""
        lease = self._leases[room.id]
        rows = [item for row in results(room) for item in row] if room.unscored() else []
        room.scored = room.scored or bool(rows)
        deadline = time.time() + self.thinking if room.thinking else 0
        keys = [
            self._key(room.id),
            self.link.key("watch", room.watch_id),
            self.link.key("rooms"),
            self._lease_key(room),
        ]
        args = [self.link.prefix, lease.began, room.version, json.dumps(room.snapshot(), ensure_ascii=False), deadline,
                int(time.time() * 1000), int(self.ttl * 1000), room.id, self._changes(room.id), lease.token,
                int(bool(rows)), *rows]  # fmt: skip
        if not calling(self._save, keys=keys, args=args):
            raise StoreUnavailable() if lease.taken is not None else Overtaken()
        lease.released = True

    def _changed_elsewhere(self, raw: bytes) -> None:
        """`<id> <version>`, published by whichever process changed the room: brought up to date here if anyone
        waits on it, and so woken."""
        room_id, version = raw.decode().split(" ")
        room = self._alive.get(room_id)
        if room is not None and room.awaited() and room.version < int(version):
            self.get(room_id)

    def _rejoined(self) -> None:
        """Redis heard again: whatever anyone here waits on may have changed meanwhile."""
        with self._rooms_lock:
            room_ids = list(self._alive)
        for room_id in room_ids:
            if not self._caught_up(room_id):
                return

    def _caught_up(self, room_id: str) -> bool:
        """The room brought up to date if anyone here waits on it, now that its changes are heard; False if Redis
        cannot be reached."""
        room = self._alive.get(room_id)
        if room is not None and room.awaited():
            try:
                self.get(room_id)
            except StoreUnavailable:
                return False
            except GameError:
                pass  # gone: the waiter finds out when it looks
        return True
