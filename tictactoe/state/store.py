"""The store of rooms: by id and by watch id, each room deleted after a time idle, a cap on how many there are;
and the scores of the games finished in them.

RoomStore keeps rooms in memory, and scores in an SQLite database in memory too. SqliteRoomStore (sqlite_store.py)
keeps both in a file, so that a restart loses nothing that was acknowledged.
"""

from __future__ import annotations

import contextlib
import logging
import math
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager

from tictactoe.game.errors import RoomNotFound, StoreUnavailable, TooManyRooms
from tictactoe.state.database import connect, migrate
from tictactoe.state.room import Room
from tictactoe.state.scores import Scores
from tictactoe.state.shared import Leases, Notes, Reach

log = logging.getLogger(__name__)


class RoomStore:
    """Rooms by id, each deleted `ttl` seconds after its last move or message, at most `capacity` at once; and
    the scores, in an SQLite database in memory, gone with the process.

    Ids carry 128 bits of randomness, so holding one is the right to play in it.
    """

    durable = False  # whether rooms outlive the process

    def __init__(self, ttl: float = 3600.0, capacity: int = 10_000):
        self.ttl = ttl
        self.capacity = capacity
        self._rooms: dict[str, Room] = {}
        self._watched: dict[str, Room] = {}  # the same rooms by watch_id
        self._lock = threading.Lock()
        self._next_expiry = math.inf  # no room expires before this; sweeping earlier finds nothing
        self._db = self._open()
        self._db_lock = threading.Lock()  # one connection, one writer at a time
        self.scores = Scores(self._db, self._db_lock)
        self._keeping = self._changed  # one bound method for every room: a new one per room is one more object each
        self.reach = Reach()  # the connections news can be pushed to
        self.process = secrets.token_hex(8)  # this process, the one that holds these rooms (anew on each start)
        self._leases = Leases()

    def notes(self, kind: str, kept: int, read_here: bool = False) -> Notes:
        """Records of `kind` by key (a connection's memory, a queue ticket), at most `kept` of them; `read_here` if
        only the process that writes a record reads it back (as a connection's calls all reach its own)."""
        return Notes(kept)

    def lease(self, name: str) -> AbstractContextManager:
        """Held by one request at a time (the pairing queue's, say)."""
        return self._leases.held(name)

    def _open(self) -> sqlite3.Connection:
        """The scores' database, in memory: gone with the process, as the rooms are."""
        db = connect(":memory:")
        migrate(db)
        return db

    def close(self) -> None:
        with self._db_lock:
            self._db.close()

    def add(self, difficulty: str | None, opponent_name: str, two_people: bool = False) -> Room:
        room = Room(secrets.token_urlsafe(16), difficulty, opponent_name, two_people)
        with self._lock:
            now = time.time()
            if now >= self._next_expiry or len(self._rooms) >= self.capacity:
                self._sweep(now)
            if len(self._rooms) >= self.capacity:
                wait = max(1, math.ceil(min(self._next_expiry - now, self.ttl)))
                raise TooManyRooms(f"The server holds its maximum of {self.capacity} games.", wait)
            self._rooms[room.id] = room
            self._watched[room.watch_id] = room
            self._next_expiry = min(self._next_expiry, room.updated_at + self.ttl)
        try:
            self._keep(room)
        except StoreUnavailable:  # never shown, since nobody has its id yet: let it go as if never made
            with self._lock:
                self._rooms.pop(room.id, None)
                self._watched.pop(room.watch_id, None)
            raise
        return room

    def get(self, room_id: str) -> Room:
        return self._find(self._rooms, room_id, f"No room {room_id!r}")

    def get_many(self, room_ids: Iterable[str]) -> list[Room]:
        """The rooms of `room_ids` that are still there, in their order (a store elsewhere asks for all at once)."""
        found = []
        for room_id in room_ids:
            with contextlib.suppress(RoomNotFound):
                found.append(self.get(room_id))
        return found

    def watched(self, watch_id: str) -> Room:
        """The room a spectator link names."""
        return self._find(self._watched, watch_id, "No game to watch at this link")

    def _find(self, index: dict[str, Room], key: str, missing: str) -> Room:
        with self._lock:
            room = index.get(key)
            if room is not None and self._expired(room, time.time()):
                del self._rooms[room.id], self._watched[room.watch_id]
                self._forget([room.id])
                room = None
        if room is None:
            raise not_found(missing, self.ttl)
        return room

    def __len__(self) -> int:
        with self._lock:
            return len(self._rooms)

    def running(self, process: str) -> bool:
        """Whether the process `process` still runs: only this one does, as no other shares these rooms."""
        return process == self.process

    def stranded_rooms(self) -> list[str]:
        """The rooms of unfinished games where someone is reached through a connection of a process that no longer
        runs: on start, the process before this one."""
        with self._lock:
            rooms = list(self._rooms.values())
        return [room.id for room in rooms if not room.is_over() and room.stranded(self.running)]

    def _expired(self, room: Room, now: float) -> bool:
        return not room.thinking and now - room.updated_at >= self.ttl

    def _sweep(self, now: float) -> None:
        """Delete expired rooms and note when the next one will expire. Call with `_lock` held."""
        expired = [room_id for room_id, room in self._rooms.items() if self._expired(room, now)]
        self._forget(expired)
        for room_id in expired:
            del self._rooms[room_id]
        self._watched = {room.watch_id: room for room in self._rooms.values()}
        idle = (room.updated_at + self.ttl for room in self._rooms.values() if not room.thinking)
        self._next_expiry = min(idle, default=math.inf)

    def _keep(self, room: Room) -> None:
        """A new room: memory holds it already; tell the store of its every change."""
        room.on_change = self._keeping

    def _changed(self, room: Room) -> None:
        """A room's new version: a game just finished goes into the scores."""
        if room.unscored():
            with self._transaction():
                self.scores.count(room)

    def _forget(self, room_ids: Iterable[str]) -> None:
        """Rooms gone: memory has let them go already."""

    @contextmanager
    def _transaction(self) -> Iterator[None]:
        """One transaction on the database, under its lock: all of it is kept, or none, and a database that
        cannot keep it (full, locked, failing) is StoreUnavailable."""
        with self._db_lock:
            try:
                self._db.execute("BEGIN IMMEDIATE")
                try:
                    yield
                    self._db.execute("COMMIT")
                finally:
                    if self._db.in_transaction:  # the block or the commit failed: the next transaction starts clean
                        self._db.execute("ROLLBACK")
            except sqlite3.Error as error:
                raise StoreUnavailable() from error


def not_found(missing: str, ttl: float) -> RoomNotFound:
    """No room where the caller looked (`missing` says where), and what to do."""
    return RoomNotFound(
        f"{missing}: rooms are deleted {ttl / 60:g} minutes after their last move or message. "
        "Check the id, or start a new game with create_room."
    )
