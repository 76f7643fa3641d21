"""Rooms kept in an SQLite file (WAL) as well as in memory: each new version of a room is written before anyone hears
of it, and the rooms are read back on start, so a restart (or a crash) loses nothing that was acknowledged."""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from collections.abc import Iterable

from tictactoe.game.errors import GameError
from tictactoe.state.database import connect, hold, migrate, refuse_newer, unusable
from tictactoe.state.room import Room
from tictactoe.state.store import RoomStore

log = logging.getLogger(__name__)


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
                room.on_change = self._keeping
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
