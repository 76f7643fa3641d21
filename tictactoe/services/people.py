"""Games between two people: invitations, a first-come pairing queue, waiting for one's turn, and leaving."""

from __future__ import annotations

import asyncio
import random
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field

from tictactoe.game.errors import Busy, GameError, InvalidRequest, NoSeats, RoomFull
from tictactoe.game.rules import HUMAN, X, other
from tictactoe.services.limits import RateLimiter
from tictactoe.state.room import Room
from tictactoe.state.seats import ANONYMOUS, Seat
from tictactoe.state.store import RoomStore
from tictactoe.state.text import valid_text

Listener = Callable[[str, dict], None]  # (event, data): reaches a person at once, if it can
GRACE_SECONDS = 60.0  # a person whose connection closed and who is not back by then has left
WAIT_DEFAULT, WAIT_MOST = 30.0, 120.0  # seconds wait_for_turn waits, unless told; and at most
TICKETS_KEPT = 10_000  # queue tickets remembered, the oldest forgotten first
QUEUE_PATIENCE = 300.0  # seconds a place in the queue is kept without its holder calling enter_queue again
NAME_LIMIT = 40  # characters in a display name


@dataclass(frozen=True)
class Seated:
    """A person in a room: the room as they see it, and the token that proves their seat."""

    room: Room
    seat: Seat

    def to_dict(self) -> dict:
        return {**self.room.to_dict(self.seat.mark), "player_token": self.seat.token}


@dataclass
class Ticket:
    """A place in the pairing queue, and the seat it led to once matched."""

    id: str
    name: str
    listener: Listener | None
    player: str  # whose record the game's result goes to
    match: Seated | None = None
    asked_at: float = field(default_factory=time.monotonic)  # when its holder last called enter_queue with it


@dataclass(frozen=True)
class Waited:
    """What wait_for_turn saw: why it returned, after how long, and the room then."""

    event: str  # your_turn, game_over, message, partner_joined, partner_left or timeout
    waited: float
    room: Room
    mark: str

    def to_dict(self) -> dict:
        return {**self.room.to_dict(self.mark), "event": self.event, "waited_seconds": round(self.waited, 3)}


class People:
    """What two people can do together, over the same rooms as the games against the opponent."""

    def __init__(
        self, rooms: RoomStore, limiter: RateLimiter, grace: float = GRACE_SECONDS, rng: random.Random | None = None
    ):
        self.rooms = rooms
        self.limiter = limiter
        self.grace = grace
        self.rng = rng or random.Random()
        self._queue: OrderedDict[str, Ticket] = OrderedDict()  # waiting, first come first served
        self._tickets: OrderedDict[str, Ticket] = OrderedDict()  # every ticket handed out, matched or not
        self._lock = threading.Lock()

    def open_room(self, name: str, client: str, player: str = ANONYMOUS) -> Seated:
        """A room for two people; the caller takes a seat (X or O, by lot) and invites someone with the room_id.

        The caller is reached through `hold`, once their connection is known. Their results go to `player` (their
        connection's key), or without one to their seat's.
        """
        self.limiter.hit(client, "create")
        name = valid_name(name)  # before the room is made: a refused name leaves none behind
        room = self.rooms.add(None, "", two_people=True)
        return self._seat(room, name, None, player)

    def join(self, room_id: str, name: str, player: str = ANONYMOUS) -> Seated:
        """Take the free seat in someone's room; they are told at once."""
        room = self.rooms.get(room_id)
        if not room.two_people:
            raise RoomFull("That room is a game against the opponent, with no seat to take: you can watch it.")
        seated = self._seat(room, name, None, player)
        self._tell_found(room, other(seated.seat.mark))
        return seated

    def enter_queue(
        self, ticket_id: str, name: str, client: str, listener: Listener | None = None, player: str = ANONYMOUS
    ) -> dict:
        """Wait for a partner, or be paired with the one who has waited longest: `waiting` or `matched`."""
        valid_text(ticket_id, "ticket", shown=False)
        with self._lock:
            self._give_up_places()
            ticket = self._tickets.get(ticket_id) if ticket_id else None
            if ticket is None:
                self.limiter.hit(client, "create")
                ticket = self._new_ticket(name, listener, player)
            elif listener is not None:
                ticket.listener = listener
            ticket.asked_at = time.monotonic()
            if ticket.match is None:
                self._queue.setdefault(ticket.id, ticket)  # a place first, kept if no room can be made for a pair
                partner = next((t for t in self._queue.values() if t is not ticket), None)
                if partner is None:
                    position = list(self._queue).index(ticket.id) + 1
                    return {"queue": "waiting", "position": position, "ticket": ticket.id}
                self._pair(partner, ticket)
        return matched(ticket)

    def _give_up_places(self) -> None:
        """Take out of the queue whoever has not asked for QUEUE_PATIENCE seconds: they have most likely gone, and
        the next person to come should not be paired with nobody. Asking again with the ticket queues them anew.
        Call with `_lock` held."""
        cutoff = time.monotonic() - QUEUE_PATIENCE
        for stale in [ticket.id for ticket in self._queue.values() if ticket.asked_at < cutoff]:
            del self._queue[stale]

    def leave_queue(self, ticket_id: str) -> dict:
        valid_text(ticket_id, "ticket", shown=False)
        with self._lock:
            left = self._queue.pop(ticket_id, None) is not None
        return {"queue": "left" if left else "not_waiting"}

    def claim(self, ticket_id: str, room_id: str) -> Seat | None:
        """The seat a queue ticket was matched to in `room_id`, for callers that only kept the ticket."""
        with self._lock:
            ticket = self._tickets.get(ticket_id)
        if ticket is None or ticket.match is None or ticket.match.room.id != room_id:
            return None
        return ticket.match.seat

    def leave(self, room_id: str, token: str | None) -> Seated:
        """Leave a room: an unfinished game is lost by forfeit, and the other person is told."""
        room = self.rooms.get(room_id)
        if not room.two_people:
            raise NoSeats(
                "Leaving is for games between two people: against the opponent, just stop, or start another game "
                "with create_room."
            )
        seat = room.seat_of(token)
        if room.leave(seat.mark):
            room.tell(other(seat.mark), "partner.disconnected", {"room_id": room.id, "forfeit": room.forfeited_by})
        return Seated(room, seat)

    def hold(self, room: Room, token: str, listener: Listener | None, holder: object | None) -> None:
        """The seat of `token` is now reached through this connection (a person back after a drop, say)."""
        seat = room.seat_of(token)
        seat.listener, seat.holder = listener, holder

    def dropped(self, room_id: str, token: str, holder: object) -> None:
        """The connection `holder` closed: if the seat is still held by it after the grace period, its holder leaves."""
        asyncio.get_running_loop().call_later(self.grace, self._leave_if_gone, room_id, token, holder)

    def _leave_if_gone(self, room_id: str, token: str, holder: object) -> None:
        try:
            room = self.rooms.get(room_id)
            seat = room.seat_of(token)
        except GameError:
            return  # the room expired meanwhile
        if seat.holder is holder and not seat.left:
            self.leave(room_id, token)

    async def wait_for_turn(self, room_id: str, token: str | None, timeout: object = WAIT_DEFAULT) -> Waited:
        """Wait until it is your turn, the game ends, the other person comes, says something or leaves, or `timeout`
        seconds pass."""
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 <= timeout <= WAIT_MOST:
            raise InvalidRequest(f"timeout_seconds must be a number from 0 to {WAIT_MOST:g}.")
        room = self.rooms.get(room_id)
        mark = room.seat_of(token).mark if room.two_people else HUMAN  # against the opponent: no seat to prove
        partner = other(mark)
        started = time.monotonic()
        heard = _said_by(room, partner)
        alone = room.two_people and partner not in room.seats
        while True:
            with room.lock:
                version = room.version
                event = _news(room, mark, heard, alone)
            waited = time.monotonic() - started
            if event is not None or waited >= timeout:
                return Waited(event or "timeout", waited, room, mark)
            await room.changed_since(version, timeout - waited)

    def _seat(self, room: Room, name: object, listener: Listener | None, player: str) -> Seated:
        seat = room.take_seat(valid_name(name), self.rng, player)
        seat.listener = listener
        return Seated(room, seat)

    def _new_ticket(self, name: object, listener: Listener | None, player: str) -> Ticket:
        ticket = Ticket(secrets.token_urlsafe(16), valid_name(name), listener, player)
        self._tickets[ticket.id] = ticket
        while len(self._tickets) > TICKETS_KEPT:
            stale = self._tickets.popitem(last=False)[0]
            self._queue.pop(stale, None)
        return ticket

    def _pair(self, first: Ticket, second: Ticket) -> None:
        """A room for the two, seats by lot; out of the queue only once it is made, so if it cannot be now (the
        room cap, the store), both keep their places and `second`, the caller, learns how to try again. Call with
        `_lock` held."""
        try:
            room = self.rooms.add(None, "", two_people=True)
            with room.change():
                seats = [self._seat(room, t.name, t.listener, t.player) for t in (first, second)]
        except Busy as busy:
            raise type(busy)(
                f"No room could be made for you and your partner just now ({busy.code}). Your place in the queue "
                f"is kept: call enter_queue again with ticket {second.id}.",
                busy.retry_after,
            ) from busy
        first.match, second.match = seats
        del self._queue[first.id], self._queue[second.id]
        self._tell_found(room, first.match.seat.mark)

    @staticmethod
    def _tell_found(room: Room, mark: str) -> None:
        partner = room.seats.get(other(mark))
        data = {"room_id": room.id, "your_mark": mark, "partner": partner.name if partner else None}
        room.tell(mark, "chatroom.found", {**data, "first_move": first_move(mark)})


def valid_name(name: object) -> str:
    """A display name as given, on one line, or InvalidRequest."""
    if not isinstance(name, str) or len(name) > NAME_LIMIT:
        raise InvalidRequest(f"name must be text of at most {NAME_LIMIT} characters.")
    return " ".join(valid_text(name, "name").split())


def first_move(mark: str) -> str:
    """Who moves first, as the player of `mark` hears it: X always does."""
    return "you" if mark == X else "partner"


def matched(ticket: Ticket) -> dict:
    seated = ticket.match
    return {**seated.to_dict(), "queue": "matched", "ticket": ticket.id, "first_move": first_move(seated.seat.mark)}


def _said_by(room: Room, mark: str) -> float:
    """When `mark` last said something in the room (0 if never, as far as the kept chat goes)."""
    with room.lock:
        return max((line.at for line in room.chat if line.sender == mark), default=0.0)


def _news(room: Room, mark: str, heard: float, alone: bool) -> str | None:
    """What happened that the player of `mark`, `alone` in the room when the wait began, is waiting for, if anything
    yet."""
    partner = room.seats.get(other(mark))
    if partner is not None and partner.left:
        return "partner_left"
    if room.is_over():
        return "game_over"
    if _said_by(room, other(mark)) > heard:
        return "message"
    ready = len(room.seats) == 2 if room.two_people else not room.thinking  # a partner there; the opponent done
    if ready and room.board.turn == mark:
        return "your_turn"
    if alone and partner is not None:
        return "partner_joined"
    return None
