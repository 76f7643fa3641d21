"""The store of rooms: by id and by watch id, each room deleted after a time idle, a cap on how many there are."""

from __future__ import annotations

import math
import secrets
import threading
import time

from tictactoe.errors import RoomNotFound, TooManyRooms
from tictactoe.rooms import Room


class RoomStore:
    """Rooms by id, each deleted `ttl` seconds after its last move or message, at most `capacity` at once.

    Ids carry 128 bits of randomness, so holding one is the right to play in it.
    """

    def __init__(self, ttl: float = 3600.0, capacity: int = 10_000):
        self.ttl = ttl
        self.capacity = capacity
        self._rooms: dict[str, Room] = {}
        self._watched: dict[str, Room] = {}  # the same rooms by watch_id
        self._lock = threading.Lock()
        self._next_expiry = math.inf  # no room expires before this; sweeping earlier finds nothing

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
        self._rooms = {room_id: room for room_id, room in self._rooms.items() if not self._expired(room, now)}
        self._watched = {room.watch_id: room for room in self._rooms.values()}
        idle = (room.updated_at + self.ttl for room in self._rooms.values() if not room.thinking)
        self._next_expiry = min(idle, default=math.inf)
