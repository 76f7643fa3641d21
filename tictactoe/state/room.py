"""Rooms: one game each, against the opponent or between two people, in a thread-safe store under unguessable ids."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import random
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from tictactoe.game.errors import GameError, GameOver, NotYourTurn, RoomFull, SeatRequired
from tictactoe.game.rules import Board, O, X, other
from tictactoe.state.text import valid_text

HUMAN, OPPONENT = X, O  # in a game against the opponent
CHAT_KEPT = 50  # chat lines a room remembers; older ones scroll away
VIA = ("mcp", "rest", "page")  # where a person's move or message came from
SERVER = "server"  # where the opponent's moves and lines come from
ANONYMOUS = ""  # the score key of a player known by no connection or seat (a REST game against the opponent)
# What a change may set anew, beside the moves, the chat and the seats: put back as it was if the change fails.
ROLLED_BACK = ("board", "human", "forfeited_by", "closed", "said", "scored", "thinking",
               "version", "board_version", "updated_at")  # fmt: skip
CLOSED = "The person who made this room left before anyone joined, so it is closed for good."


@dataclass(frozen=True)
class Move:
    mark: str
    position: int
    by: str  # "human", "engine" or "mistral"
    via: str | None = None  # one of VIA, or SERVER; None if not recorded (rooms stored before it was)
    at: float | None = None  # when it was played; None if not recorded


@dataclass(frozen=True)
class ChatLine:
    sender: str  # the speaker's mark
    text: str
    at: float
    via: str | None = None


@dataclass(frozen=True)
class Player:
    """Whose record a side's result goes to: a key (a connection's or a seat's, hashed) and a display name."""

    key: str = ANONYMOUS
    name: str = ""


@dataclass
class Seat:
    """A person's place in a two-person room: their mark, the secret token that proves it, and their name."""

    mark: str
    token: str
    name: str
    listener: Callable[[str, dict], None] | None = None  # reaches them at once (their MCP session), if it can
    holder: object | None = None  # the connection they last used, to tell when it closes for good
    left: bool = False
    player: str = ANONYMOUS  # the score key of whoever took the seat


class Room:
    """A game of a human (X, moves first) against the opponent (O), or of two people, each holding a seat.

    Mutate only inside a `change()`, which holds `lock`; the opponent's thinking happens outside it, flagged by
    `thinking`.
    """

    def __init__(self, room_id: str, difficulty: str | None, opponent_name: str, two_people: bool = False):
        self.id = room_id
        self.two_people = two_people
        self.seats: dict[str, Seat] = {}  # by mark, in a two-person room
        self.forfeited_by: str | None = None  # the mark of a person who left an unfinished game
        self.closed = False  # a room for two whose maker left before anyone joined: over, with no game to count
        self.watch_id = secrets.token_urlsafe(16)  # for spectators: shows the game, gives no right to play it
        self.difficulty = difficulty  # None: the model chooses the opponent's moves
        self.opponent_name = opponent_name
        self.human = Player()  # who plays X against the opponent (in a room for two, the seats say)
        self.board = Board()
        self.moves: list[Move] = []
        self.chat: deque[ChatLine] = deque(maxlen=CHAT_KEPT)
        self.said = 0  # chat lines ever said, the ones scrolled away included
        self.scored = False  # whether the finished game is in the scores
        self.thinking = False
        self.version = 0
        self.board_version = 0  # the version of the last change to the board, the seats or the outcome
        self.created_at = self.updated_at = time.time()
        self.lock = threading.RLock()  # re-entrant: to_dict takes it too, also from inside a locked change
        self._waiters: set[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = set()  # async callers waiting
        self.on_change: Callable[[Room], None] | None = None  # the store's, to keep each change
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

    def _state(self) -> tuple[dict, dict[str, bool]]:
        """What a change can alter, copied: to put back if it fails."""
        kept = {name: getattr(self, name) for name in ROLLED_BACK}
        kept.update(moves=list(self.moves), chat=deque(self.chat, maxlen=CHAT_KEPT), seats=dict(self.seats))
        return kept, {mark: seat.left for mark, seat in self.seats.items()}

    def _roll_back(self, kept: dict, left: dict[str, bool]) -> None:
        for name, value in kept.items():
            setattr(self, name, value)
        for mark, was_left in left.items():  # the same Seat objects: a seat handed out stays the room's
            self.seats[mark].left = was_left

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
            self.moves.append(Move(mark, position, by, via, time.time()))
            self._touch(board=True)

    def is_over(self) -> bool:
        return self.closed or self.forfeited_by is not None or self.board.is_over()

    def take_seat(self, name: str, rng: random.Random, player: str = ANONYMOUS) -> Seat:
        """The free seat (X or O, by lot when both are free) for a person called `name`; their results go to
        `player`, or without one to the seat's own token."""
        with self.change():
            if self.closed:
                raise RoomFull(f"{CLOSED} You can start a game with create_room or enter_queue.")
            free = [mark for mark in (X, O) if mark not in self.seats]
            if not free:
                raise RoomFull("Both seats in this room are taken. You can watch it, or start a game with create_room.")
            mark = rng.choice(free)
            token = secrets.token_urlsafe(16)
            seat = self.seats[mark] = Seat(mark, token, name or f"Player {mark}", player=player or token_key(token))
            self._touch(board=True)
            return seat

    def seat_of(self, token: str | None) -> Seat:
        """The seat `token` proves, or SeatRequired. Every path a token takes (the service's, the pages', the MCP
        tools') comes here, so here a token with a lone surrogate, which cannot even be encoded to compare, is
        InvalidRequest."""
        if isinstance(token, str):
            valid_text(token, "player_token", shown=False)
        for seat in self.seats.values():
            if isinstance(token, str) and token and hmac.compare_digest(seat.token.encode(), token.encode()):
                return seat
        raise SeatRequired(
            "This game is between two people and you hold no seat in it: join_room takes a free seat, "
            "and its player_token goes with every later call."
        )

    def acting_seat(self, token: str | None) -> Seat:
        """The seat `token` proves, to move or chat from: one whose holder left acts no more (they may still look)."""
        seat = self.seat_of(token)
        if seat.left:
            raise SeatRequired(
                "You left this game, so your seat can no longer move or chat in it. "
                "Start a new one with create_room or enter_queue."
            )
        return seat

    def mark_of(self, token: object) -> str | None:
        """The mark the holder of `token` plays: X against the opponent; in a room for two, without a token, None
        (a spectator). A wrong token is SeatRequired."""
        if not self.two_people:
            return HUMAN
        return self.seat_of(token).mark if token else None

    def seen_by(self, token: object) -> dict:
        """The room as the holder of `token` sees it: in a room for two people, without a seat, as a spectator."""
        return self.to_dict(self.mark_of(token))

    def players(self) -> dict[str, Player]:
        """The people in the game, by mark: whose record each side's result goes to."""
        if not self.two_people:
            return {HUMAN: self.human}
        return {mark: Player(seat.player, seat.name) for mark, seat in self.seats.items()}

    def unscored(self) -> bool:
        """Whether the game is over and not yet in the scores (a closed room had no game to count)."""
        return self.is_over() and not self.scored and not self.closed

    def leave(self, mark: str) -> bool:
        """The person at `mark` leaves: an unfinished game is theirs lost, by forfeit; a room nobody joined yet is
        closed, as nobody would be there to play against. False if they had left already (nothing changes)."""
        with self.change():
            if self.seats[mark].left:
                return False
            self.seats[mark].left = True
            if not self.is_over():
                if len(self.seats) == 2:
                    self.forfeited_by = mark
                else:
                    self.closed = True
            self._touch(board=True)
            return True

    def tell(self, mark: str, event: str, data: dict) -> None:
        """Let the person at `mark` know of `event` at once, if they can be reached."""
        seat = self.seats.get(mark)
        if seat is not None and seat.listener is not None and not seat.left:
            seat.listener(event, data)

    def say(self, sender: str, text: str, via: str | None = None) -> None:
        with self.change():
            self.chat.append(ChatLine(sender, text, time.time(), via))
            self.said += 1
            self._touch()

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
        """Tell whoever waits for a new version, once it is kept. Call with `lock` held."""
        for loop, event in self._waiters:
            if not loop.is_closed():
                loop.call_soon_threadsafe(event.set)

    async def changed_since(self, version: int, timeout: float) -> bool:
        """Wait, without blocking the event loop, until the room is past `version` or `timeout` s pass."""
        waiter = (asyncio.get_running_loop(), asyncio.Event())
        with self.lock:
            if self.version != version:
                return True
            self._waiters.add(waiter)
        try:
            await asyncio.wait_for(waiter[1].wait(), timeout)
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
                "seats": [[s.mark, s.token, s.name, s.left, s.player] for s in self.seats.values()],
                "human": [self.human.key, self.human.name],
                "forfeited_by": self.forfeited_by,
                "closed": self.closed,
                "moves": [[m.mark, m.position, m.by, m.via, m.at] for m in self.moves],
                "chat": [[c.sender, c.text, c.at, c.via] for c in self.chat],
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
        rooms were closed have none closed; from before the board's version was kept, it is the room's.
        """
        room = cls(data["id"], data["difficulty"], data["opponent_name"], data["two_people"])
        room.watch_id = data["watch_id"]
        for mark, token, name, left, *player in data["seats"]:
            room.seats[mark] = Seat(mark, token, name, left=left, player=player[0] if player else token_key(token))
        room.human = Player(*data.get("human", ()))
        room.forfeited_by, room.closed = data["forfeited_by"], data.get("closed", False)
        for move in data["moves"]:
            room.board = room.board.push(move[1])
            room.moves.append(Move(*move))
        room.chat.extend(ChatLine(*line) for line in data["chat"])
        room.said, room.scored = data.get("said", len(room.chat)), data.get("scored", False)
        room.version, room.created_at, room.updated_at = data["version"], data["created_at"], data["updated_at"]
        room.board_version = data.get("board_version", room.version)
        return room

    def against(self) -> str:
        """What the people in the room played against, as the scores count it: a level, mistral, or people."""
        return "people" if self.two_people else self.difficulty or "mistral"

    def history(self, mark: str | None = HUMAN) -> dict:
        """The game from the start, as the player of `mark` sees it: who plays each side, every move in order
        (who made it, where it came from, when, and the board after it), the chat and how it stands."""
        with self.lock:
            state = self._as_dict(mark)
            players = self._players_shown()
            board, moves = Board(), []
            for number, (move, shown) in enumerate(zip(self.moves, state["moves"], strict=True), start=1):
                board = board.push(move.position)
                moves.append(
                    {"number": number, **shown, "player": players[move.mark]["name"], "board": list(board.cells)}
                )
            shown_keys = ("room_id", "status", "your_mark", "winner", "winning_line", "forfeited_by", "version")
            return {
                **{key: state[key] for key in shown_keys},
                "against": self.against(),
                "players": players,
                "moves": moves,
                "chat": state["chat"],
                "chat_earlier": self.said - len(self.chat),  # lines said before the kept ones scrolled away
                "created_at": self.created_at,
                "updated_at": self.updated_at,
                "links": state["links"],
            }

    def _players_shown(self) -> dict[str, dict]:
        if not self.two_people:
            return {HUMAN: {"name": self.human.name or None, "kind": "human"},
                    OPPONENT: {"name": self.opponent_name, "kind": self._chosen_by()}}  # fmt: skip
        return {
            mark: {"name": seat.name if (seat := self.seats.get(mark)) else None, "kind": "human"} for mark in (X, O)
        }

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

    def to_dict(self, mark: str | None = HUMAN) -> dict:
        """The one representation of a room, as the player of `mark` sees it: REST bodies, MCP structured content
        and Markdown derive from it."""
        with self.lock:
            return self._as_dict(mark)

    def _as_dict(self, mark: str | None) -> dict:
        outcome = self.board.outcome()
        status = self.status(mark)
        return {
            "room_id": self.id,
            "board": list(self.board.cells),
            "status": status,
            "turn": None if self.is_over() else self.board.turn,
            "your_mark": mark,
            "opponent": self._opponent(O if mark is None else other(mark)),
            "winner": self.winner(),
            "winning_line": list(outcome.line) if outcome and outcome.line else None,
            "forfeited_by": self.forfeited_by,
            "legal_moves": self.board.legal_moves() if status == "your_turn" else [],
            "moves": [
                {"mark": m.mark, "position": m.position, "by": self._by(m, mark), "via": m.via, "at": m.at}
                for m in self.moves
            ],
            "chat": [{"from": _speaker(c.sender, mark), "text": c.text, "at": c.at, "via": c.via} for c in self.chat],
            "next_step": (NEXT_STEP_PEOPLE if self.two_people else NEXT_STEP)[status],
            "version": self.version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "links": {"play": f"/rooms/{self.id}/view", "watch": f"/watch/{self.watch_id}"},
        }

    def _opponent(self, mark: str) -> dict:
        if not self.two_people:
            return {"name": self.opponent_name, "mark": mark, "moves_chosen_by": self._chosen_by(),
                    "difficulty": self.difficulty, "thinking": self.thinking}  # fmt: skip
        seat = self.seats.get(mark)
        name = seat.name if seat is not None else None
        return {"name": name, "mark": mark, "moves_chosen_by": "human", "difficulty": None, "thinking": False}

    def _chosen_by(self) -> str:
        """Who chooses the opponent's moves, in a game against it."""
        return "mistral" if self.difficulty is None else "engine"

    @staticmethod
    def _by(move: Move, mark: str | None) -> str:
        if move.by != "human" or mark is None:
            return move.by
        return "you" if move.mark == mark else "opponent"


NEXT_STEP = {
    "your_turn": "Your move: play one of the legal_moves (make_move).",
    "opponent_turn": "The opponent is thinking: look at the room again in a moment (get_room_state).",
    "won": "You won! Start a rematch with create_room.",
    "lost": "The opponent won. Start a rematch with create_room.",
    "draw": "It's a draw. Start a rematch with create_room.",
}
NEXT_STEP_PEOPLE = {
    "waiting_for_opponent": "Waiting for a second player: share the room_id (they call join_room with it).",
    "your_turn": "Your move: play one of the legal_moves (make_move).",
    "opponent_turn": "The other player's move: wait_for_turn returns as soon as they have played.",
    "won": "You won! Play again with enter_queue or create_room.",
    "lost": "The other player won. Play again with enter_queue or create_room.",
    "draw": "It's a draw. Play again with enter_queue or create_room.",
    "watching": "You are watching: only the two players can move. Look again with get_room_state.",
    "finished": "The game is over. Start your own with create_room or enter_queue.",
}


def player_key(kind: str, secret: str) -> str:
    """A score key for a connection or a seat: its kind and a hash of its secret, which is never stored itself."""
    return f"{kind}:{hashlib.sha256(secret.encode()).hexdigest()[:16]}"


def token_key(token: str) -> str:
    return player_key("token", token)


def _speaker(sender: str, mark: str | None) -> str:
    if mark is None:
        return sender  # to someone with no seat, speakers are their marks
    return "you" if sender == mark else "opponent"


def spectator_view(state: dict) -> dict:
    """A room's representation as spectators see it: everything but the id and link that let one play."""
    shown = {key: value for key, value in state.items() if key != "room_id"}
    shown["links"] = {"watch": state["links"]["watch"]}
    return shown


def attach_state(error: GameError, room: Room, mark: str = HUMAN) -> None:
    """Give an error the room it happened in, so every edge can show the board beside the message."""
    error.room = room.to_dict(mark)
