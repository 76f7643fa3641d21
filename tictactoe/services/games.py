"""The service layer: the few things a player can do, shared by the REST routes and the MCP tools."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

from tictactoe.game.engine import DIFFICULTIES
from tictactoe.game.errors import GameError, InvalidRequest, StaleVersion, StoreUnavailable
from tictactoe.game.rules import HUMAN, OPPONENT, Board, as_json, other
from tictactoe.players.opponent import Opponent
from tictactoe.services.limits import RateLimiter
from tictactoe.services.people import GRACE_SECONDS, People, valid_name
from tictactoe.state.room import SERVER, Room
from tictactoe.state.scores import LEADERS_MOST
from tictactoe.state.seats import ANONYMOUS, NOBODY, Player
from tictactoe.state.showing import attach_state
from tictactoe.state.store import RoomStore
from tictactoe.state.text import one_line, valid_text

log = logging.getLogger(__name__)

MESSAGE_LIMIT = 500  # characters in one chat message
LOCAL = "local"  # the client behind calls that come with no address (stdio, in-process)


@dataclass(frozen=True)
class Seen:
    """A room as the player of `mark` sees it."""

    room: Room
    mark: str = HUMAN

    def to_dict(self) -> dict:
        return self.room.to_dict(self.mark)


@dataclass(frozen=True)
class Turn:
    """What one make_move did: the move, then the opponent's reply (None if the game ended first, or for people)."""

    room: Room
    position: int
    reply: int | None
    mark: str = HUMAN

    def to_dict(self) -> dict:
        return {**self.room.to_dict(self.mark), "last_turn": {"you": self.position, "opponent": self.reply}}


class GameService:
    def __init__(
        self,
        opponent: Opponent,
        default_difficulty: str = "medium",
        store: RoomStore | None = None,
        limiter: RateLimiter | None = None,
        grace: float = GRACE_SECONDS,
    ):
        self.opponent = opponent
        self.default_difficulty = default_difficulty
        self.rooms = store if store is not None else RoomStore()
        self.limiter = limiter if limiter is not None else RateLimiter({})
        self.people = People(self.rooms, self.limiter, grace)

    def create_room(self, difficulty: str | None = None, client: str = LOCAL, player: Player | None = None) -> Room:
        """A new game for `player`. Without a difficulty, Mistral chooses the moves if there is a key, else the
        default engine."""
        self.limiter.hit(client, "create")
        check_difficulty(difficulty)
        if difficulty is None and self.opponent.voice is None:
            difficulty = self.default_difficulty
        room = self.rooms.add(difficulty, self.opponent.name)
        for attempt in room.attempts():
            with attempt:
                room.human = NOBODY if player in (None, NOBODY) else player  # one for all who gave no name
                room.say(OPPONENT, self.opponent.welcome(), SERVER)
        log.info("room created (%s)", difficulty or "mistral")
        return room

    @property
    def instant(self) -> bool:
        """Whether a move or a chat line is answered without waiting on anything: with no Mistral key the engine
        moves and talks at once, so `play` and `chat` never suspend, and need no event loop to run."""
        return self.opponent.voice is None

    def room(self, room_id: str) -> Room:
        return self._resumed(self.rooms.get(room_id))

    def rooms_found(self, room_ids: list[str]) -> list[Room]:
        """The rooms of `room_ids` that are still kept, in their order, each resumed as `room` resumes one."""
        return [self._resumed(room) for room in self.rooms.get_many(room_ids)]

    def watched(self, watch_id: str) -> Room:
        """The room a spectator's link shows."""
        return self._resumed(self.rooms.watched(watch_id))

    def _resumed(self, room: Room) -> Room:
        """The room, its turn finished first if the server stopped halfway through one (the human's move kept,
        the opponent's not made): the engine answers at once, so no room is ever stuck."""
        with room.lock:
            if not _stopped_in(room):
                return room  # as nearly always: read as it is, with no change begun
            for attempt in room.attempts():
                with attempt:
                    if not _stopped_in(room):  # no longer (a change made again sees the room as the store has it)
                        return room
                    reply = self.opponent.fallback(room.board, room.difficulty)
                    room.play(OPPONENT, reply.move, reply.by, SERVER)
                    room.say(OPPONENT, reply.line, SERVER)
                    log.info("finished a turn the server had stopped in")
        return room

    async def play(
        self,
        room_id: str,
        position: int,
        client: str = LOCAL,
        expected_version: int | None = None,
        token: str | None = None,
        via: str | None = None,
        seen: Room | None = None,
    ) -> Turn:
        """The human's move and, unless it ended the game, the opponent's reply: one whole turn.

        With `expected_version`, the move is played only if the board is still as it was at that version, so a
        move chosen on an old board (a retry, a second tab) is refused instead of landing on a board the player
        never saw; a chat line since changes no board.
        In a room for two people, `token` says whose seat moves, and the other person is told. `via` says where
        the move came from (mcp, rest or page), for the game's history. `seen` is the room if the caller has just
        read it (with `room`): it is not read again (the move holds it as the store has it anyway).
        """
        self.limiter.hit(client, "move")
        if expected_version is not None and type(expected_version) is not int:  # not bool, not 4.0
            raise InvalidRequest(f"expected_version must be a whole number, got {as_json(expected_version)}.")
        room = seen or self.room(room_id)
        mark = room.acting_seat(token).mark if room.two_people else HUMAN
        board = self._move(room, mark, position, expected_version, via)
        outcome = board.outcome()
        if room.two_people:
            self.people.tell(room, other(mark), "move.made", {"room_id": room.id, "mark": mark, "position": position})
            return Turn(room, position, None, mark)
        if outcome is not None:
            _opponent_says(room, await self.opponent.react(board, "lose" if outcome.winner else "draw_by_human"))
            return Turn(room, position, None)
        # Shielded: if the caller goes away mid-turn, the opponent still moves and the room is never stuck. An
        # opponent that answers at once never lets the caller go away meanwhile.
        replying = self._reply(room, board)
        reply = await (replying if self.instant else asyncio.shield(replying))
        return Turn(room, position, reply)

    @staticmethod
    def _move(room: Room, mark: str, position: int, expected_version: int | None, via: str | None) -> Board:
        """Play the person's move, if the board is still the one they chose it on; the board after it. An error
        carries the room, so that every door can show the board beside it."""
        with room.lock:
            try:
                for attempt in room.attempts():
                    with attempt:
                        if expected_version is not None and room.board_changed_since(expected_version):
                            raise StaleVersion(
                                f"The room is at version {room.version}, not {expected_version}: it changed since "
                                "you looked. Check the board, then move again."
                            )
                        room.play(mark, position, "human", via)
                        room.thinking = not room.two_people and not room.is_over()
            except GameError as error:
                attach_state(error, room, mark)
                raise
            return room.board

    async def _reply(self, room: Room, board: Board) -> int | None:
        """The opponent's move and its line, one change; None if the store could not keep it. The player's move
        stands either way: their answer shows it, at the opponent's turn, rather than an error saying nothing
        changed."""
        reply = await self.opponent.move(board, room.difficulty)
        try:
            for attempt in room.attempts():
                with attempt:
                    room.play(OPPONENT, reply.move, reply.by, SERVER)
                    room.say(OPPONENT, reply.line, SERVER)
                    room.thinking = False
        except StoreUnavailable:
            log.warning("the opponent's move could not be saved; it is made when the room is next looked at")
            for attempt in room.attempts():
                with attempt:
                    room.thinking = False  # not waiting on a move any more, so _resumed makes it
            return None
        return reply.move

    async def chat(
        self, room_id: str, message: object, client: str = LOCAL, token: str | None = None, via: str | None = None,
        seen: Room | None = None,
    ) -> Seen:  # fmt: skip
        """Say something: the opponent answers in character, or, between people, the other one is told.

        Chat never changes the board. `seen`, as for `play`.
        """
        self.limiter.hit(client, "chat")
        if not isinstance(message, str) or not message.strip():
            raise InvalidRequest('message must be a non-empty string, like {"message": "Good luck!"}.')
        if len(message) > MESSAGE_LIMIT:
            raise InvalidRequest(f"message is {len(message)} characters long; the limit is {MESSAGE_LIMIT}.")
        valid_text(message, "message")
        room = seen or self.room(room_id)
        mark = room.acting_seat(token).mark if room.two_people else HUMAN
        text = one_line(message, MESSAGE_LIMIT)
        for attempt in room.attempts():
            with attempt:
                room.say(mark, text, via)
                board = room.board
        if room.two_people:
            news = {"room_id": room.id, "from": room.seats[mark].name, "text": text}
            self.people.tell(room, other(mark), "message.received", news)
            return Seen(room, mark)
        _opponent_says(room, await self.opponent.answer(board, message))
        return Seen(room)

    def stats(self, limit: object = 10, name: object = "", player: str = ANONYMOUS) -> dict:
        """The leaderboard's first `limit` names; with `name`, that name's record; with `player`, theirs."""
        name = valid_name(name)
        if type(limit) is not int or not 1 <= limit <= LEADERS_MOST:
            raise InvalidRequest(f"limit must be a whole number from 1 to {LEADERS_MOST}, got {as_json(limit)}.")
        scores = self.rooms.scores
        stats: dict = {"games": scores.games(), "leaderboard": scores.leaderboard(limit)}
        if name:
            stats["player"] = {"name": name, **scores.of_name(name)}
        if player != ANONYMOUS:
            stats["you"] = scores.of_player(player)
        return stats


def _stopped_in(room: Room) -> bool:
    """Whether the server stopped halfway through a turn in `room`: the human's move kept, the opponent's not made,
    and nobody thinking of it any more."""
    return not room.two_people and not room.thinking and not room.is_over() and room.board.turn == OPPONENT


def _opponent_says(room: Room, line: str) -> None:
    """The opponent's line after the player's own change was kept: if the store cannot keep the line too, the
    player's answer stands without it, rather than an error saying nothing changed when their part did."""
    try:
        for attempt in room.attempts():
            with attempt:
                room.say(OPPONENT, line, SERVER)
    except StoreUnavailable:
        log.warning("an opponent's line could not be saved and is left out")


def check_difficulty(difficulty: object) -> None:
    """None (the default) or one of the engine's levels; anything else is an InvalidRequest."""
    if difficulty is not None and difficulty not in DIFFICULTIES:
        raise InvalidRequest(f"difficulty must be one of {', '.join(DIFFICULTIES)}, got {difficulty!r}.")
