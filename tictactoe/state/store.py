"""The stores of rooms: by id and by watch id, each room deleted after a time idle, a cap on how many there are;
and the scores of the games finished in them.

RoomStore keeps rooms in memory, and scores in an SQLite database in memory too. SqliteRoomStore keeps both in
an SQLite file: it writes each new version of a room before anyone hears of it, and reads the rooms back on
start, so a restart (or a crash) loses nothing that was acknowledged. A file it cannot use, or one another server
uses, stops the start with an UnusableDatabase error that names it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import math
import os
import secrets
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from pathlib import Path

from tictactoe.game.errors import GameError, RoomNotFound, StoreUnavailable, TooManyRooms
from tictactoe.state.room import Room
from tictactoe.state.scores import Scores

log = logging.getLogger(__name__)


class UnusableDatabase(ValueError):
    """The database file cannot be used (missing folder, not a database, read-only, newer, in use); the message
    names it and says why, in one line."""


BUSY_SECONDS = 2.0  # a write waits this long for a lock another program holds on the file, then the player retries
UNUSABLE = {  # what SQLite's refusal says of the file, for the one line the server stops with
    "SQLITE_NOTADB": "is not a SQLite database",
    "SQLITE_READONLY": "is read-only, and the server must write to it",
    "SQLITE_CANTOPEN": "cannot be opened",
}

MIGRATIONS = (  # applied in order on start; PRAGMA user_version counts those applied
    """CREATE TABLE rooms (
        id TEXT PRIMARY KEY,
        watch_id TEXT NOT NULL UNIQUE,
        updated_at REAL NOT NULL,
        state TEXT NOT NULL  -- Room.snapshot(), as JSON
    )""",
    """CREATE TABLE scores (
        player TEXT NOT NULL,  -- a connection's or a seat's key (a hash), '' for players known by neither
        name TEXT NOT NULL,  -- the display name they gave, '' for none
        against TEXT NOT NULL,  -- easy, medium, hard, mistral or people
        wins INTEGER NOT NULL DEFAULT 0,
        losses INTEGER NOT NULL DEFAULT 0,
        draws INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (player, name, against)
    )""",
    "CREATE INDEX scores_by_name ON scores (name)",
)


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
            raise RoomNotFound(
                f"{missing}: rooms are deleted {self.ttl / 60:g} minutes after their last move or message. "
                "Check the id, or start a new game with create_room."
            )
        return room

    def __len__(self) -> int:
        with self._lock:
            return len(self._rooms)

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
        room.on_change = self._changed

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


class SqliteRoomStore(RoomStore):
    """The rooms in memory, as RoomStore keeps them, and every version of every room in SQLite (WAL) first."""

    durable = True

    def __init__(self, path: str, ttl: float = 3600.0, capacity: int = 10_000):
        self.path = path
        self._held: int | None = hold(path)  # for the store's life: a second server on the file is refused
        try:
            super().__init__(ttl, capacity)
        except BaseException:
            os.close(self._held)
            raise
        self._load()

    def _open(self) -> sqlite3.Connection:
        """The file, its schema version read first without writing a byte (a newer one is left as it is); then in
        WAL mode, migrated, and proven writable now rather than at the first move."""
        refuse_newer(self.path)
        db = connect(self.path)
        try:
            db.execute("PRAGMA journal_mode=WAL")  # readers never wait for the writer
            db.execute("PRAGMA synchronous=NORMAL")  # in WAL mode a commit survives the process dying
            migrate(db)
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM rooms WHERE 0")  # a write that changes nothing, which a read-only file refuses
            db.execute("ROLLBACK")
        except sqlite3.Error as error:
            db.close()
            raise unusable(self.path, error) from None
        return db

    def close(self) -> None:
        super().close()
        if self._held is not None:
            os.close(self._held)  # only now: closing any descriptor of the file drops SQLite's own locks on it
            self._held = None

    def _load(self) -> None:
        now = time.time()
        with self._lock:
            # As bytes: a row that is not UTF-8 is one unreadable room, not a cursor that stops reading the rest.
            for row, state in self._db.execute("SELECT rowid, CAST(state AS BLOB) FROM rooms"):
                try:
                    room = Room.restore(json.loads(state))
                except (ValueError, LookupError, TypeError, GameError) as error:
                    # Named by its row alone: the room's id and its seats' tokens are the rights to play in it.
                    log.warning("skipped the unreadable room in row %d of ROOMS_DB (%s)", row, type(error).__name__)
                    continue
                self._rooms[room.id] = self._watched[room.watch_id] = room
            self._sweep(now)
            for room in self._rooms.values():
                room.on_change = self._changed
                if room.unscored():  # finished before scores were kept
                    self._changed(room)

    def _keep(self, room: Room) -> None:
        super()._keep(room)
        self._changed(room)

    def _changed(self, room: Room) -> None:
        """A room's new version: kept, and if the game just finished, scored, both at once."""
        with self._transaction():
            if room.unscored():
                self.scores.count(room)
            self._save(room)

    def _forget(self, room_ids: Iterable[str]) -> None:
        """Delete expired rooms' rows; if the database refuses now, the request that found them goes on, and a
        row left behind is deleted again when its room expires on the next start."""
        try:
            with self._db_lock:
                self._db.executemany("DELETE FROM rooms WHERE id = ?", [(room_id,) for room_id in room_ids])
        except sqlite3.Error as error:
            log.warning("could not delete expired rooms from the database (%s); they go on the next start", error)

    def _save(self, room: Room) -> None:
        state = room.snapshot()
        self._db.execute(
            "INSERT INTO rooms (id, watch_id, updated_at, state) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (id) DO UPDATE SET updated_at = excluded.updated_at, state = excluded.state",
            (room.id, room.watch_id, state["updated_at"], json.dumps(state, ensure_ascii=False)),
        )


def connect(path: str) -> sqlite3.Connection:
    """A connection for any thread, under the store's lock, on which each write commits unless in a transaction."""
    return sqlite3.connect(path, timeout=BUSY_SECONDS, check_same_thread=False, isolation_level=None)


def hold(path: str) -> int:
    """A descriptor of the database file, created empty if new, with an exclusive flock: a second server on the
    file is refused. flock never meets the POSIX locks SQLite takes on the same file."""
    try:
        held = os.open(path, os.O_RDONLY | os.O_CREAT, 0o600)  # rooms hold ids and tokens: the owner's only
    except IsADirectoryError:
        raise UnusableDatabase(f"ROOMS_DB {path} is a folder, not a database file") from None
    except FileNotFoundError:
        folder = os.path.dirname(os.path.abspath(path))
        raise UnusableDatabase(f"ROOMS_DB {path} cannot be created: its folder {folder} does not exist") from None
    except OSError as error:
        raise UnusableDatabase(f"ROOMS_DB {path} cannot be opened ({error.strerror})") from None
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(held)
        raise UnusableDatabase(
            f"ROOMS_DB {path} is in use by another running server: stop that one first, or point ROOMS_DB at "
            "another file"
        ) from None
    return held


def refuse_newer(path: str) -> None:
    """Refuse a database of a newer schema, read on a read-only connection: even WAL mode rewrites the header."""
    try:
        with closing(sqlite3.connect(f"{Path(path).absolute().as_uri()}?mode=ro", uri=True)) as db:
            (applied,) = db.execute("PRAGMA user_version").fetchone()
    except sqlite3.Error as error:
        raise unusable(path, error) from None
    if applied > len(MIGRATIONS):
        raise UnusableDatabase(
            f"ROOMS_DB {path} has schema version {applied}, newer than this server's {len(MIGRATIONS)}: "
            "left untouched. Run a newer server, or point ROOMS_DB at another file."
        )


def unusable(path: str, error: sqlite3.Error) -> UnusableDatabase:
    """What SQLite's refusal says of the file, on one line naming it."""
    kind = "_".join(error.sqlite_errorname.split("_")[:2])  # SQLITE_READONLY_DIRECTORY is read-only too
    return UnusableDatabase(f"ROOMS_DB {path} {UNUSABLE.get(kind, 'cannot be used')} ({error})")


def migrate(db: sqlite3.Connection) -> None:
    """Bring the database's schema up to this server's, one numbered migration at a time."""
    applied = db.execute("PRAGMA user_version").fetchone()[0]
    for number in range(applied, len(MIGRATIONS)):
        db.execute("BEGIN IMMEDIATE")
        db.execute(MIGRATIONS[number])
        db.execute(f"PRAGMA user_version = {number + 1}")
        db.execute("COMMIT")
