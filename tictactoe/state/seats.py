"""The seats of a room for two people: who holds which mark, proven by a secret token, and who plays at all.

A room takes these as a mixin (`Seating`): seats change with the room, inside its changes.
"""

from __future__ import annotations

import hashlib
import hmac
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass

from tictactoe.game.errors import RoomFull, SeatRequired
from tictactoe.game.rules import HUMAN, O, X
from tictactoe.state.text import valid_text

ANONYMOUS = ""  # the score key of a player known by no connection or seat (a REST game against the opponent)
CLOSED = "The person who made this room left before anyone joined, so it is closed for good."


@dataclass(frozen=True, slots=True)
class Player:
    """Whose record a side's result goes to: a key (a connection's or a seat's, hashed) and a display name."""

    key: str = ANONYMOUS
    name: str = ""


NOBODY = Player()  # who plays a game nobody named or holds a key for: one for all of them


@dataclass(slots=True)
class Seat:
    """A person's place in a two-person room: their mark, the secret token that proves it, and their name."""

    mark: str
    token: str
    name: str
    left: bool = False
    player: str = ANONYMOUS  # the score key of whoever took the seat
    process: str = ""  # the process whose MCP connection reaches its holder ("" for none, as over REST)


class Seating:
    """Seats, for a Room: taking one, proving one, leaving one."""

    __slots__ = ()  # a Room's own slots hold its state
    two_people: bool
    seats: dict[str, Seat]
    human: Player
    closed: bool
    forfeited_by: str | None

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

    def bind(self, mark: str, process: str) -> None:
        """The person at `mark` is reached through a connection of `process`: kept with the room, so that once
        that process has ended (a restart, a crash), which closes its connections, they get the grace period to
        come back all the same."""
        with self.change():
            if self.seats[mark].process != process:
                self.seats[mark].process = process
                self._touch()

    def stranded(self, running: Callable[[str], bool]) -> list[Seat]:
        """The seats whose holders a connection of a process that no longer `running` reached, and who have not left
        or come back (on a connection of another process) since."""
        return [seat for seat in self.seats.values() if seat.process and not seat.left and not running(seat.process)]

    def players(self) -> dict[str, Player]:
        """The people in the game, by mark: whose record each side's result goes to."""
        if not self.two_people:
            return {HUMAN: self.human}
        return {mark: Player(seat.player, seat.name) for mark, seat in self.seats.items()}

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


def player_key(kind: str, secret: str) -> str:
    """A score key for a connection or a seat: its kind and a hash of its secret, which is never stored itself."""
    return f"{kind}:{hashlib.sha256(secret.encode()).hexdigest()[:16]}"


def token_key(token: str) -> str:
    return player_key("token", token)
