"""Rooms: one game each against the opponent, kept in a thread-safe store under unguessable ids."""

from __future__ import annotations

import math
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass

from tictactoe.errors import GameError, NotYourTurn, RoomNotFound, TooManyRooms
from tictactoe.rules import Board, O, X

HUMAN, OPPONENT = X, O
CHAT_KEPT = 50  # chat lines a room remembers; older ones scroll away


@dataclass(frozen=True)
class Move:
    mark: str
    position: int
    by: str  # "you", "engine" or "mistral"


@dataclass(frozen=True)
class ChatLine:
    sender: str  # "you" or "opponent"
    text: str
    at: float


class Room:
    """A game of a human (X, moves first) against the opponent (O).

    Mutate only while holding `lock`; the opponent's thinking happens outside it, flagged by `thinking`.
    """

    def __init__(self, room_id: str, difficulty: str | None, opponent_name: str):
        self.id = room_id
        self.watch_id = secrets.token_urlsafe(16)  # for spectators: shows the game, gives no right to play it
        self.difficulty = difficulty  # None: the model chooses the opponent's moves
        self.opponent_name = opponent_name
        self.board = Board()
        self.moves: list[Move] = []
        self.chat: deque[ChatLine] = deque(maxlen=CHAT_KEPT)
        self.thinking = False
        self.version = 0
        self.created_at = self.updated_at = time.time()
        self.lock = threading.RLock()  # re-entrant: to_dict takes it too, also from inside a locked change
        self.changed = threading.Condition(self.lock)  # notified on every new version, for live pages

    def play(self, mark: str, position: int, by: str) -> None:
        """Place `mark` at `position`, or raise the GameError that says why not."""
        if not self.board.is_over() and self.board.turn != mark:
            raise NotYourTurn(f"{self.opponent_name} is still thinking. Check the room again in a moment.")
        self.board = self.board.push(position)
        self.moves.append(Move(mark, position, by))
        self._touch()

    def say(self, sender: str, text: str) -> None:
        self.chat.append(ChatLine(sender, text, time.time()))
        self._touch()

    def _touch(self) -> None:
        with self.lock:
            self.version += 1
            self.updated_at = time.time()
            self.changed.notify_all()

    def wait_for_change(self, version: int, timeout: float) -> bool:
        """Wait until the room is past `version`, for at most `timeout` seconds; whether it is."""
        with self.lock:
            return self.changed.wait_for(lambda: self.version != version, timeout)

    def status(self) -> str:
        """From the human's side: your_turn, opponent_turn, won, lost or draw."""
        outcome = self.board.outcome()
        if outcome is None:
            return "your_turn" if self.board.turn == HUMAN else "opponent_turn"
        if outcome.winner is None:
            return "draw"
        return "won" if outcome.winner == HUMAN else "lost"

    def to_dict(self) -> dict:
        """The one representation of a room: REST bodies, MCP structured content and Markdown derive from it."""
        with self.lock:
            return self._as_dict()

    def _as_dict(self) -> dict:
        outcome = self.board.outcome()
        status = self.status()
        return {
            "room_id": self.id,
            "board": list(self.board.cells),
            "status": status,
            "turn": None if outcome else self.board.turn,
            "your_mark": HUMAN,
            "opponent": {
                "name": self.opponent_name,
                "mark": OPPONENT,
                "moves_chosen_by": "mistral" if self.difficulty is None else "engine",
                "difficulty": self.difficulty,
                "thinking": self.thinking,
            },
            "winner": outcome.winner if outcome else None,
            "winning_line": list(outcome.line) if outcome and outcome.line else None,
            "legal_moves": self.board.legal_moves() if status == "your_turn" else [],
            "moves": [{"mark": m.mark, "position": m.position, "by": m.by} for m in self.moves],
            "chat": [{"from": c.sender, "text": c.text, "at": c.at} for c in self.chat],
            "next_step": NEXT_STEP[status],
            "version": self.version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "links": {"play": f"/rooms/{self.id}/view", "watch": f"/watch/{self.watch_id}"},
        }


NEXT_STEP = {
    "your_turn": "Your move: play one of the legal_moves (make_move).",
    "opponent_turn": "The opponent is thinking: look at the room again in a moment (get_room_state).",
    "won": "You won! Start a rematch with create_room.",
    "lost": "The opponent won. Start a rematch with create_room.",
    "draw": "It's a draw. Start a rematch with create_room.",
}


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

    def add(self, difficulty: str | None, opponent_name: str) -> Room:
        room = Room(secrets.token_urlsafe(16), difficulty, opponent_name)
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


def spectator_view(state: dict) -> dict:
    """A room's representation as spectators see it: everything but the id and link that let one play."""
    shown = {key: value for key, value in state.items() if key != "room_id"}
    shown["links"] = {"watch": state["links"]["watch"]}
    return shown


def attach_state(error: GameError, room: Room) -> None:
    """Give an error the room it happened in, so every edge can show the board beside the message."""
    error.room = room.to_dict()
