"""Games between two people: invitations, a first-come pairing queue, waiting for one's turn, and leaving."""

from __future__ import annotations

import asyncio
import functools
import logging
import random
import secrets
import time
from dataclasses import asdict, dataclass

from tictactoe.game.errors import Busy, GameError, InvalidRequest, NoSeats, RoomFull, StoreUnavailable
from tictactoe.game.rules import HUMAN, X, other
from tictactoe.services.limits import RateLimiter
from tictactoe.state.room import Room
from tictactoe.state.seats import ANONYMOUS, Seat
from tictactoe.state.store import RoomStore
from tictactoe.state.text import valid_text

log = logging.getLogger(__name__)

GRACE_SECONDS = 60.0  # a person whose connection closed and who is not back by then has left
WAIT_DEFAULT, WAIT_MOST = 30.0, 120.0  # seconds wait_for_turn waits, unless told; and at most
TICKETS_KEPT = 10_000  # queue tickets remembered, the oldest forgotten first
HOLDERS_KEPT = 20_000  # seats whose connection is remembered, the least recently used forgotten first
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
    holder: str | None  # the connection that asked with it last, to tell of a match
    player: str  # whose record the game's result goes to
    match: list[str] | None = None  # the room and the seat's token, once matched


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
        self._tickets = rooms.notes("ticket", TICKETS_KEPT)  # every ticket handed out, matched or not
        self._queue = rooms.notes("queue", 1)  # one note: who waits, first come first served, and when they asked
        self._holders = rooms.notes("holder", HOLDERS_KEPT)  # the connection that holds each seat, by room:mark

    def open_room(self, name: str, client: str, player: str = ANONYMOUS) -> Seated:
        """A room for two people; the caller takes a seat (X or O, by lot) and invites someone with the room_id.

        The caller is reached through `hold`, once their connection is known. Their results go to `player` (their
        connection's key), or without one to their seat's.
        """
        self.limiter.hit(client, "create")
        name = valid_name(name)  # before the room is made: a refused name leaves none behind
        room = self.rooms.add(None, "", two_people=True)
        return self._seat(room, name, player)

    def join(self, room_id: str, name: str, player: str = ANONYMOUS) -> Seated:
        """Take the free seat in someone's room; they are told at once."""
        room = self.rooms.get(room_id)
        if not room.two_people:
            raise RoomFull("That room is a game against the opponent, with no seat to take: you can watch it.")
        seated = self._seat(room, name, player)
        self._tell_found(room, other(seated.seat.mark))
        return seated

    def enter_queue(
        self, ticket_id: str, name: str, client: str, holder: str | None = None, player: str = ANONYMOUS
    ) -> dict:
        """Wait for a partner, or be paired with the one who has waited longest: `waiting` or `matched`. `holder`
        is the caller's connection, to be told of a match made later."""
        valid_text(ticket_id, "ticket", shown=False)
        with self.rooms.lease("queue"):
            places = self._places()
            ticket = self._ticket(ticket_id) if ticket_id else None
            if ticket is None:
                self.limiter.hit(client, "create")
                ticket = Ticket(secrets.token_urlsafe(16), valid_name(name), holder, player)
            ticket.holder = holder or ticket.holder
            self._tickets.put(ticket.id, asdict(ticket))
            if ticket.match is None:
                places[ticket.id] = time.time()  # a place first, kept if no room can be made for a pair
                partner = self._partner(places, ticket.id)
                if partner is None:
                    self._keep_places(places)
                    return {"queue": "waiting", "position": list(places).index(ticket.id) + 1, "ticket": ticket.id}
                self._pair(partner, ticket, places)
        return self._matched(ticket)

    def _places(self) -> dict[str, float]:
        """Who waits in the queue, first come first, and when each last asked; without whoever has not asked for
        QUEUE_PATIENCE seconds: they have most likely gone, and the next person to come should not be paired with
        nobody. Asking again with the ticket queues them anew. Call with the queue's lease held."""
        cutoff = time.time() - QUEUE_PATIENCE
        kept = (self._queue.get("waiting") or {"places": []})["places"]
        return {ticket_id: asked for ticket_id, asked in kept if asked >= cutoff}

    def _keep_places(self, places: dict[str, float]) -> None:
        """Keep who waits, as `_places` reads it. Call with the queue's lease held."""
        self._queue.put("waiting", {"places": list(places.items())})

    def _partner(self, places: dict[str, float], ticket_id: str) -> Ticket | None:
        """Who has waited longest besides `ticket_id`; a place whose ticket is forgotten is given up on the way."""
        for waiting in [other_id for other_id in places if other_id != ticket_id]:
            partner = self._ticket(waiting)
            if partner is not None:
                return partner
            del places[waiting]
        return None

    def _ticket(self, ticket_id: str) -> Ticket | None:
        note = self._tickets.get(ticket_id)
        return None if note is None else Ticket(**note)

    def leave_queue(self, ticket_id: str) -> dict:
        valid_text(ticket_id, "ticket", shown=False)
        with self.rooms.lease("queue"):
            places = self._places()
            left = places.pop(ticket_id, None) is not None
            self._keep_places(places)
        return {"queue": "left" if left else "not_waiting"}

    def claim(self, ticket_id: str, room_id: str) -> Seat | None:
        """The seat a queue ticket was matched to in `room_id`, for callers that only kept the ticket."""
        ticket = self._ticket(ticket_id)
        if ticket is None or ticket.match is None or ticket.match[0] != room_id:
            return None
        return self.rooms.get(room_id).seat_of(ticket.match[1])

    def leave(self, room_id: str, token: str | None) -> Seated:
        """Leave a room: an unfinished game is lost by forfeit, and the other person is told."""
        room = self.rooms.get(room_id)
        if not room.two_people:
            raise NoSeats(
                "Leaving is for games between two people: against the opponent, just stop, or start another game "
                "with create_room."
            )
        seat = room.seat_of(token)
        for attempt in room.attempts():
            with attempt:
                left = room.leave(seat.mark)
        if left:
            self.tell(
                room, other(seat.mark), "partner.disconnected", {"room_id": room.id, "forfeit": room.forfeited_by}
            )
        return Seated(room, seat)

    def hold(self, room: Room, token: str, holder: str) -> None:
        """The seat of `token` is now reached through the connection `holder` (a person back after a drop, say)."""
        mark = room.seat_of(token).mark
        try:
            for attempt in room.attempts():
                with attempt:
                    room.bind(mark, self.rooms.process)
        except StoreUnavailable:  # the seat is held all the same: only a restart would forget that it is
            log.warning("a seat's binding to its connection could not be saved")
        self._holders.put(f"{room.id}:{mark}", {"holder": holder, "process": self.rooms.process})
        if self._stranded(room):  # back after a restart, before the partner
            asyncio.get_running_loop().call_later(self.grace, self._give_up_stranded, room.id)

    def tell(self, room: Room, mark: str, event: str, data: dict) -> None:
        """Let the person at `mark` know of `event` at once, if they can be reached; news that cannot be sent now
        is theirs to see when they look (wait_for_turn), not a failure of what caused it."""
        seat = room.seats.get(mark)
        try:
            holder = None if seat is None or seat.left else self._holders.get(f"{room.id}:{mark}")
            if holder is not None:
                self.rooms.reach.tell(holder["holder"], event, data)
        except StoreUnavailable:
            log.warning("news for a seat could not be sent")

    def dropped(self, room_id: str, token: str, holder: str) -> None:
        """The connection `holder` closed: if the seat is still held by it after the grace period, its holder leaves."""
        asyncio.get_running_loop().call_later(self.grace, self._leave_if_gone, room_id, token, holder)

    def restarted(self) -> None:
        """Start the grace period of every seat reached through a connection that a process's end closed: every
        seat bound in the rooms the process before kept, and every seat noted as held by a process that no longer
        runs (with Redis, where other processes may run on). Call once the event loop runs."""
        try:
            suspects = set(self.rooms.stranded_rooms())
            running = functools.cache(self.rooms.running)
            suspects |= {
                key.rpartition(":")[0] for key, note in self._holders.items() if not running(note.get("process", ""))
            }
        except StoreUnavailable:
            log.warning("could not look for seats whose connections a restart closed; they are kept")
            return
        loop = asyncio.get_running_loop()
        for room_id in suspects:
            loop.call_later(self.grace, self._give_up_stranded, room_id)

    def _stranded(self, room: Room) -> list[Seat]:
        """The seats of `room` whose holders a connection closed by a process's end (a restart, a crash) reached,
        and who are not back on another; none if the store cannot say."""
        try:
            return room.stranded(self.rooms.running)
        except StoreUnavailable:
            return []

    def _give_up_stranded(self, room_id: str) -> None:
        """After the grace period, whoever a connection closed by a process's end reached, and is not back, leaves,
        so that the other person is not kept waiting; if neither is back, nobody waits for anybody, and the room
        stays as it is until one of them comes back (whose return gives the other the grace period) or it
        expires."""
        try:
            room = self.rooms.get(room_id)
            gone = self._stranded(room)
            if len(gone) == 1:
                self.leave(room_id, gone[0].token)
        except GameError:
            return  # the room expired meanwhile, or the store cannot say: the seats stay

    def _leave_if_gone(self, room_id: str, token: str, holder: str) -> None:
        try:
            room = self.rooms.get(room_id)
            seat = room.seat_of(token)
            if (self._holders.get(f"{room.id}:{seat.mark}") or {}).get("holder") == holder and not seat.left:
                self.leave(room_id, token)
        except GameError:
            return  # the room expired meanwhile, or the store cannot say: the seat stays

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

    def _seat(self, room: Room, name: object, player: str) -> Seated:
        name = valid_name(name)
        for attempt in room.attempts():
            with attempt:
                seat = room.take_seat(name, self.rng, player)
        return Seated(room, seat)

    def _pair(self, first: Ticket, second: Ticket, places: dict[str, float]) -> None:
        """A room for the two, seats by lot; out of the queue only once it is made, so if it cannot be now (the
        room cap, the store), both keep their places and `second`, the caller, learns how to try again. Call with
        the queue's lease held."""
        try:
            room = self.rooms.add(None, "", two_people=True)
            for attempt in room.attempts():
                with attempt:
                    seats = [self._seat(room, t.name, t.player) for t in (first, second)]
        except Busy as busy:
            self._keep_places(places)
            raise type(busy)(
                f"No room could be made for you and your partner just now ({busy.code}). Your place in the queue "
                f"is kept: call enter_queue again with ticket {second.id}.",
                busy.retry_after,
            ) from busy
        for ticket, seated in zip((first, second), seats, strict=True):
            ticket.match = [room.id, seated.seat.token]
            self._tickets.put(ticket.id, asdict(ticket))
            if ticket.holder is not None:
                self.hold(room, seated.seat.token, ticket.holder)
            del places[ticket.id]
        self._keep_places(places)
        self._tell_found(room, seats[0].seat.mark)

    def _tell_found(self, room: Room, mark: str) -> None:
        partner = room.seats.get(other(mark))
        data = {"room_id": room.id, "your_mark": mark, "partner": partner.name if partner else None}
        self.tell(room, mark, "chatroom.found", {**data, "first_move": first_move(mark)})

    def _matched(self, ticket: Ticket) -> dict:
        room_id, token = ticket.match
        room = self.rooms.get(room_id)
        seated = Seated(room, room.seat_of(token))
        return {**seated.to_dict(), "queue": "matched", "ticket": ticket.id, "first_move": first_move(seated.seat.mark)}


def valid_name(name: object) -> str:
    """A display name as given, on one line, or InvalidRequest."""
    if not isinstance(name, str) or len(name) > NAME_LIMIT:
        raise InvalidRequest(f"name must be text of at most {NAME_LIMIT} characters.")
    return " ".join(valid_text(name, "name").split())


def first_move(mark: str) -> str:
    """Who moves first, as the player of `mark` hears it: X always does."""
    return "you" if mark == X else "partner"


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
