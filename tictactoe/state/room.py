"""A room: one game, against the opponent or between two people, changed whole or not at all.

Its seats (seats.py) and how it is shown (showing.py) live beside it, as mixins of the one Room.
"""

from __future__ import annotations

import asyncio
import secrets
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import NamedTuple

from tictactoe.game.errors import GameOver, NotYourTurn, Overtaken
from tictactoe.game.rules import HUMAN, START, other
from tictactoe.state.seats import CLOSED, NOBODY, Player, Seat, Seating, token_key
from tictactoe.state.showing import Showing

CHAT_KEPT = 50  # chat lines a room remembers; older ones scroll away
# Rooms share their locks, one of many by their id's hash: a lock is an object the collector walks, and a server
# holds tens of thousands of rooms. No code holds two rooms at once, so sharing never waits on a cycle.
LOCKS = tuple(threading.RLock() for _ in range(1024))
VIA = ("mcp", "rest", "page")  # where a person's move or message came from
SERVER = "server"  # where the opponent's moves and lines come from
# What a change may set anew, beside the seats: put back as it was if the change fails. The board, the moves and the
# chat are immutable values, replaced by a change, never changed in place.
ROLLED_BACK = ("board", "_moves", "_chat", "human", "forfeited_by", "closed", "said", "scored", "thinking",
               "version", "board_version", "updated_at")  # fmt: skip
# What no other process's copy of the room has:
HERE_ONLY = ("lock", "_waiters", "on_change", "held", "on_awaited", "_before", "__weakref__")


class Move(NamedTuple):  # a tuple of plain values: nothing for the collector to walk, once it has seen it
    mark: str
    position: int
    by: str  # "human", "engine" or "mistral"
    via: str | None = None  # one of VIA, or SERVER; None if not recorded (rooms stored before it was)
    at: float | None = None  # when it was played; None if not recorded


class ChatLine(NamedTuple):
    sender: str  # the speaker's mark
    text: str
    at: float
    via: str | None = None


class Room(Seating, Showing):
    """A game of a human (X, moves first) against the opponent (O), or of two people, each holding a seat.

    Mutate only inside a `change()`, which holds `lock` (the services make each of theirs through `attempts()`); the
    opponent's thinking happens outside it, flagged by `thinking`. A server holds tens of thousands of rooms, so a
    room is compact: slots, shared boards and players, tuples for its moves and chat, and nothing per room a full
    garbage collection must walk but the room itself.
    """

    __slots__ = ("id", "two_people", "seats", "forfeited_by", "closed", "watch_id", "difficulty", "opponent_name",
                 "human", "board", "_moves", "_chat", "said", "scored", "thinking", "version", "board_version",
                 "created_at", "updated_at", *HERE_ONLY)  # fmt: skip

    def __init__(self, room_id: str, difficulty: str | None, opponent_name: str, two_people: bool = False):
        self.id = room_id
        self.two_people = two_people
        self.seats: dict[str, Seat] = {}  # by mark, in a two-person room
        self.forfeited_by: str | None = None  # the mark of a person who left an unfinished game
        self.closed = False  # a room for two whose maker left before anyone joined: over, with no game to count
        self.watch_id = secrets.token_urlsafe(16)  # for spectators: shows the game, gives no right to play it
        self.difficulty = difficulty  # None: the model chooses the opponent's moves
        self.opponent_name = opponent_name
        self.human = NOBODY  # who plays X against the opponent (in a room for two, the seats say)
        self.board = START
        # Moves and chat lines kept as plain tuples, which the collector stops walking once it has seen them (a
        # NamedTuple it never does); `moves` and `chat` give them named.
        self._moves: tuple[tuple, ...] = ()
        self._chat: tuple[tuple, ...] = ()  # the last CHAT_KEPT lines
        self.said = 0  # chat lines ever said, the ones scrolled away included
        self.scored = False  # whether the finished game is in the scores
        self.thinking = False
        self.version = 0
        self.board_version = 0  # the version of the last change to the board, the seats or the outcome
        self.created_at = self.updated_at = time.time()
        self.lock = LOCKS[hash(room_id) % len(LOCKS)]  # re-entrant: to_dict takes it too, inside a locked change
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] | None = None  # made for the first waiter
        self.on_change: Callable[[Room], None] | None = None  # the store's, to keep each change
        # The store's, around each change: a store other processes share holds the room for it, fresh.
        self.held: Callable[[Room], AbstractContextManager] = nullcontext
        self.on_awaited: Callable[[Room], None] | None = None  # the store's, told whenever someone waits here
        self._before: tuple[dict, dict[str, bool]] | None = None  # the state the change under way began from

    @contextmanager
    def change(self) -> Iterator[None]:
        """One logical change, all or nothing: the store keeps it once, at its end, before anyone hears of it; if
        anything in it fails, the store's write included, the room is left exactly as it was before it began.

        A change begun inside another joins it. Versions still count each mutation in it.
        """
        with self.lock:
            if self._before is not None:
                yield
                return
            with self.held(self):
                self._before = before = self._state()
                version = self.version
                try:
                    yield
                    if self.version != version and self.on_change is not None:
                        self.on_change(self)
                except BaseException:
                    self._roll_back(*before)
                    raise
                finally:
                    self._before = None
            if self.version != version:
                self._wake()

    def attempts(self) -> Iterator[AbstractContextManager]:
        """One change, tried at most twice: `for attempt in room.attempts(): with attempt: ...` makes the body one
        change, and makes it once more, on the room as the store has it, if the store finds that another process's
        change got there first (Overtaken). A store that shares rooms with other processes decides a change on the
        copy at hand, and only its save checks that no other change came between."""
        if self.held is nullcontext:  # no other process shares the room: nothing can overtake a change
            yield self.change()
            return
        overtaken = []

        @contextmanager
        def attempt(last: bool) -> Iterator[None]:
            try:
                with self.change():
                    yield
            except Overtaken:
                if last:
                    raise
                overtaken.append(True)

        yield attempt(False)
        if overtaken:
            yield attempt(True)

    def _state(self) -> tuple[dict, dict[str, tuple[bool, str]]]:
        """What a change can alter, copied: to put back if it fails."""
        kept = {name: getattr(self, name) for name in ROLLED_BACK}
        kept["seats"] = dict(self.seats)
        return kept, {mark: (seat.left, seat.process) for mark, seat in self.seats.items()}

    def _roll_back(self, kept: dict, seated: dict[str, tuple[bool, str]]) -> None:
        for name, value in kept.items():
            setattr(self, name, value)
        for mark, (left, process) in seated.items():  # the same Seat objects: a seat handed out stays the room's
            self.seats[mark].left, self.seats[mark].process = left, process

    def play(self, mark: str, position: int, by: str, via: str | None = None) -> None:
        """Place `mark` at `position`, or raise the GameError that says why not."""
        with self.change():
            if self.closed:
                raise GameOver(f"{CLOSED} Start a new game with create_room or enter_queue.")
            if self.forfeited_by is not None:
                raise GameOver("The game is over: a player left. Start a new one with create_room.")
            if self.two_people and len(self.seats) < 2:
                raise NotYourTurn("Nobody has joined yet: share the room_id, and wait_for_turn returns once they have.")
            if not self.board.is_over() and self.board.turn != mark:
                if self.two_people:
                    raise NotYourTurn("It is the other player's turn: wait for their move (wait_for_turn).")
                raise NotYourTurn(f"{self.opponent_name} is still thinking. Check the room again in a moment.")
            self.board = self.board.push(position)
            self._moves = (*self._moves, (mark, position, by, via, time.time()))
            self._touch(board=True)

    @property
    def moves(self) -> list[Move]:
        return list(map(Move._make, self._moves))

    @property
    def move_count(self) -> int:
        return len(self._moves)

    @property
    def chat(self) -> list[ChatLine]:
        return list(map(ChatLine._make, self._chat))

    def say(self, sender: str, text: str, via: str | None = None) -> None:
        with self.change():
            self._chat = (*self._chat[1 - CHAT_KEPT :], (sender, text, time.time(), via))
            self.said += 1
            self._touch()

    def is_over(self) -> bool:
        return self.closed or self.forfeited_by is not None or self.board.is_over()

    def winner(self) -> str | None:
        if self.forfeited_by is not None:
            return other(self.forfeited_by)
        outcome = self.board.outcome()
        return outcome.winner if outcome else None

    def status(self, mark: str | None = HUMAN) -> str:
        """From `mark`'s side: your_turn, opponent_turn, waiting_for_opponent, won, lost or draw.

        For someone with no seat (mark None): waiting_for_opponent, watching or finished; finished for everyone in
        a closed room, where no game was played to win, lose or draw.
        """
        if mark is None or self.closed:
            if self.is_over():
                return "finished"
            return "waiting_for_opponent" if len(self.seats) < 2 else "watching"
        if self.is_over():
            winner = self.winner()
            return "draw" if winner is None else "won" if winner == mark else "lost"
        if self.two_people and len(self.seats) < 2:
            return "waiting_for_opponent"
        return "your_turn" if self.board.turn == mark else "opponent_turn"

    def against(self) -> str:
        """What the people in the room played against, as the scores count it: a level, mistral, or people."""
        return "people" if self.two_people else self.difficulty or "mistral"

    def unscored(self) -> bool:
        """Whether the game is over and not yet in the scores (a closed room had no game to count)."""
        return self.is_over() and not self.scored and not self.closed

    def _touch(self, board: bool = False) -> None:
        """Count one mutation, inside a change: each is a version of its own, as clients have always seen; `board`
        if it changed the board, the seats or the outcome, which a move chosen on an older version never saw."""
        self.version += 1
        self.updated_at = time.time()
        if board:
            self.board_version = self.version

    def board_changed_since(self, version: int) -> bool:
        """Whether the board, the seats or the outcome changed after `version`, or the room never was at it: a move
        chosen then would land on a board its player never saw. Chat alone changes none of them."""
        return not self.board_version <= version <= self.version

    def _wake(self) -> None:
        """Tell whoever waits for a new version, once it is kept: one call into each waiting loop, however many wait
        there (a popular room's live pages all wait on the server's). Call with `lock` held."""
        waiting: dict[asyncio.AbstractEventLoop, list[asyncio.Event]] = {}
        for loop, event in self._waiters or ():
            waiting.setdefault(loop, []).append(event)
        for loop, events in waiting.items():
            if not loop.is_closed():
                loop.call_soon_threadsafe(_set_all, events)

    def adopt(self, newer: Room) -> None:
        """Take the state of `newer`, a later version another process kept, and wake whoever waits for it here."""
        with self.lock:
            for name in self.__slots__:
                if name not in HERE_ONLY:
                    setattr(self, name, getattr(newer, name))
            self._wake()

    def awaited(self) -> bool:
        """Whether anyone in this process waits for the room's next version."""
        return bool(self._waiters)

    async def changed_since(self, version: int, timeout: float) -> bool:
        """Wait, without blocking the event loop, until the room is past `version` or `timeout` s pass."""
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self.lock:
            if self.version != version:
                return True
            if self._waiters is None:
                self._waiters = set()
            self._waiters.add(waiter)
        if self.on_awaited is not None:
            self.on_awaited(self)
        try:
            async with asyncio.timeout(timeout):
                await waiter[1].wait()
            return True
        except TimeoutError:
            return False
        finally:
            with self.lock:
                self._waiters.discard(waiter)

    def snapshot(self) -> dict:
        """Everything the room must keep across a restart, as JSON-ready data (not who is listening)."""
        with self.lock:
            return {
                "id": self.id,
                "watch_id": self.watch_id,
                "difficulty": self.difficulty,
                "opponent_name": self.opponent_name,
                "two_people": self.two_people,
                "seats": [[s.mark, s.token, s.name, s.left, s.player, s.process] for s in self.seats.values()],
                "human": [self.human.key, self.human.name],
                "forfeited_by": self.forfeited_by,
                "closed": self.closed,
                "moves": [list(move) for move in self._moves],
                "chat": [list(line) for line in self._chat],
                "said": self.said,
                "scored": self.scored,
                "version": self.version,
                "board_version": self.board_version,
                "created_at": self.created_at,
                "updated_at": self.updated_at,
            }

    @classmethod
    def restore(cls, data: dict) -> Room:
        """The room a snapshot describes, its board replayed from its moves.

        Snapshots from before history and scores lack where moves came from, when, and who played: those read
        as not recorded (None, anonymous), and a game finished then is scored when loaded. Those from before
        rooms were closed have none closed; from before the board's version was kept, it is the room's; from
        before seats were bound to connections, no seat is.
        """
        room = cls(data["id"], data["difficulty"], data["opponent_name"], data["two_people"])
        room.watch_id = data["watch_id"]
        for mark, token, name, left, *more in data["seats"]:
            player, process = more[0] if more else token_key(token), more[1] if len(more) > 1 else ""
            room.seats[mark] = Seat(mark, token, name, left=left, player=player, process=process)
        room.human = Player(*data["human"]) if any(data.get("human", ())) else NOBODY
        room.forfeited_by, room.closed = data["forfeited_by"], data.get("closed", False)
        room._moves = tuple(tuple(Move(*move)) for move in data["moves"])  # older ones lack via and at
        for move in room.moves:
            room.board = room.board.push(move.position)
        room._chat = tuple(tuple(ChatLine(*line)) for line in data["chat"][-CHAT_KEPT:])
        room.said, room.scored = data.get("said", len(room.chat)), data.get("scored", False)
        room.version, room.created_at, room.updated_at = data["version"], data["created_at"], data["updated_at"]
        room.board_version = data.get("board_version", room.version)
        return room


def _set_all(events: list[asyncio.Event]) -> None:
    for event in events:
        event.set()
