"""What the server answers, typed once: a room as each side sees it, a turn, a history, the scores, a place in the
queue, an error.

These are the one source of every schema the server publishes: each MCP tool's outputSchema and the REST API's
OpenAPI document are generated from them (doors/schemas.py). They are TypedDicts: an answer is built as a plain
dict, at no cost, and the type checker, the schemas and the tests hold it to its shape.
"""

from __future__ import annotations

from typing import Annotated, Literal, NotRequired

from pydantic import ConfigDict, Field, with_config
from typing_extensions import TypedDict

Mark = Literal["X", "O"]
Cell = Annotated[int, Field(ge=0, le=8)]
Time = Annotated[float, Field(description="Unix seconds.")]
RoomId = Annotated[str, Field(pattern=r"^[A-Za-z0-9_-]{22}$")]  # secrets.token_urlsafe(16)
Via = Literal["mcp", "rest", "page", "server"]
Status = Literal["your_turn", "opponent_turn", "waiting_for_opponent", "won", "lost", "draw", "watching", "finished"]
Against = Literal["easy", "medium", "hard", "mistral", "people"]
Board = Annotated[
    list[Literal["X", "O", ""]],
    Field(min_length=9, max_length=9, description="Cells 0-8, left to right, top to bottom; '' is a free cell."),
]
Whence = Annotated[
    Via | None,
    Field(description="Where it came from: MCP, REST, this server's pages, or the server (the opponent). "
          "null: not recorded (stored before history was)."),
]  # fmt: skip
When = Annotated[float | None, Field(description="Unix seconds; null: not recorded (stored before history was).")]
CLOSED = ConfigDict(extra="forbid")


@with_config(CLOSED)
class OpponentShown(TypedDict):
    """Who plays the other side."""

    name: Annotated[str | None, Field(description="null: nobody has taken that seat yet.")]
    mark: Mark
    moves_chosen_by: Annotated[Literal["engine", "mistral", "human"], Field(description="human: another person.")]
    difficulty: Annotated[
        Literal["easy", "medium", "hard"] | None, Field(description="null: Mistral chooses the moves.")
    ]
    thinking: bool


CHAT_ANSWERED = 10  # the latest chat lines a room's answers carry; its history carries every line kept


@with_config(CLOSED)
class MoveShown(TypedDict):
    mark: Mark
    position: Cell
    by: Literal["you", "opponent", "engine", "mistral", "human"]


ChatShown = with_config(CLOSED)(
    TypedDict(
        "ChatShown",
        {
            "from": Annotated[Literal["you", "opponent", "X", "O"], Field(description="Marks, to a spectator.")],
            "text": str,
        },
    )
)


class ChatRecord(ChatShown):
    """A chat line as the history keeps it: with when it was said, and where from."""

    at: Time
    via: Whence


@with_config(CLOSED)
class Links(TypedDict):
    """The room's pages: absolute URLs in replies, paths in error bodies."""

    play: NotRequired[Annotated[str, Field(description="The player's live board, where one can play.")]]
    watch: Annotated[str, Field(description="The same board for spectators, who cannot play.")]


@with_config(CLOSED)
class RoomSeen(TypedDict):
    """A room as someone sees it: everything but its id, which is the right to play in it."""

    board: Board
    status: Annotated[
        Status,
        Field(description="From your side; watching, finished (and waiting_for_opponent) for someone with no seat; "
              "finished for everyone in a room for two whose maker left before anyone joined."),
    ]  # fmt: skip
    turn: Annotated[Mark | None, Field(description="Whose move it is; null once the game is over.")]
    your_mark: Annotated[Mark | None, Field(description="null: you hold no seat in this room for two.")]
    opponent: OpponentShown
    winner: Mark | None
    winning_line: Annotated[list[Cell], Field(min_length=3, max_length=3)] | None
    forfeited_by: Annotated[Mark | None, Field(description="The mark of a person who left an unfinished game.")]
    legal_moves: Annotated[list[Cell], Field(max_length=9)]
    moves: Annotated[
        list[MoveShown], Field(max_length=9, description="In order; get_game_history has when and where from.")
    ]
    chat: Annotated[
        list[ChatShown],
        Field(max_length=CHAT_ANSWERED, description=f"The latest {CHAT_ANSWERED} lines, oldest first; "
              "get_game_history has every line kept, with when and where from."),
    ]  # fmt: skip
    next_step: Annotated[str, Field(description="What to do next.")]
    version: Annotated[int, Field(ge=0, description="Goes up with every move and chat line.")]
    created_at: Time
    updated_at: Time
    links: Links
    markdown: NotRequired[Annotated[str, Field(description="REST only: the room as a chat shows it.")]]


class RoomState(RoomSeen):
    """A room as a player (or, in a room for two, anyone holding its id) sees it."""

    room_id: RoomId


@with_config(CLOSED)
class LastTurn(TypedDict):
    """What a move did."""

    you: Cell
    opponent: Annotated[Cell | None, Field(description="null: your move ended the game, or the other is a person.")]


class Turn(RoomState):
    """A room after a move: the opponent's reply is in it already."""

    last_turn: LastTurn


class Seated(RoomState):
    """A room from the seat just taken (a room for two made, or joined)."""

    player_token: Annotated[str, Field(description="Your seat's token: keep it secret, pass it where asked.")]


class Waited(RoomState):
    """A room when wait_for_turn returned."""

    event: Annotated[
        Literal["your_turn", "game_over", "message", "partner_joined", "partner_left", "timeout"],
        Field(description="Why it returned."),
    ]
    waited_seconds: Annotated[float, Field(ge=0)]


class Matched(Seated):
    """A room for two, from enter_queue: you have a partner."""

    queue: Literal["matched"]
    ticket: Annotated[str, Field(description="The ticket you waited with.")]
    first_move: Annotated[Literal["you", "partner"], Field(description="X moves first.")]


@with_config(CLOSED)
class PlayerShown(TypedDict):
    name: Annotated[str | None, Field(description="null: none given, or no one.")]
    kind: Literal["human", "engine", "mistral"]


Players = with_config(CLOSED)(TypedDict("Players", {"X": PlayerShown, "O": PlayerShown}))


class HistoryMove(MoveShown):
    via: Whence
    at: When
    number: Annotated[int, Field(ge=1, le=9)]
    player: Annotated[str | None, Field(description="The name of who moved.")]
    board: Annotated[Board, Field(description="The board after the move.")]


@with_config(CLOSED)
class History(TypedDict):
    """A game from its first move, as the player of one side sees it."""

    room_id: RoomId
    status: Status
    your_mark: Mark | None
    winner: Mark | None
    winning_line: Annotated[list[Cell], Field(min_length=3, max_length=3)] | None
    forfeited_by: Mark | None
    version: Annotated[int, Field(ge=0)]
    against: Annotated[Against, Field(description="The engine's level, mistral, or people.")]
    players: Players
    moves: Annotated[list[HistoryMove], Field(max_length=9, description="In order, each with the board after it.")]
    chat: Annotated[list[ChatRecord], Field(description="Every line kept, oldest first.")]
    chat_earlier: Annotated[int, Field(ge=0, description="Lines said before the kept ones.")]
    created_at: Time
    updated_at: Time
    links: Links
    markdown: NotRequired[Annotated[str, Field(description="REST only: the history as a chat shows it.")]]


@with_config(CLOSED)
class Counts(TypedDict):
    wins: Annotated[int, Field(ge=0)]
    losses: Annotated[int, Field(ge=0)]
    draws: Annotated[int, Field(ge=0)]


PerOpponent = with_config(CLOSED)(
    TypedDict("PerOpponent", dict.fromkeys(("easy", "medium", "hard", "mistral", "people"), Counts))
)


class Record(Counts):
    """Wins, losses and draws, in all and per kind of opponent."""

    games: Annotated[int, Field(ge=0)]
    against: PerOpponent


class NamedRecord(Record):
    name: str


class Leader(NamedRecord):
    rank: Annotated[int, Field(ge=1)]


@with_config(CLOSED)
class Stats(TypedDict):
    """The scores: the leaderboard, and the records asked for."""

    games: Annotated[int, Field(ge=0, description="Finished games counted, each once.")]
    leaderboard: Annotated[list[Leader], Field(description="Named players, most wins first (then fewest losses).")]
    player: NotRequired[Annotated[NamedRecord, Field(description="The record of the name asked about.")]]
    you: NotRequired[Annotated[Record, Field(description="Your own record (your connection's, or your seat's).")]]
    markdown: NotRequired[Annotated[str, Field(description="REST only: the scores as a chat shows them.")]]


@with_config(CLOSED)
class QueueWaiting(TypedDict):
    """A place in the pairing queue, while waiting for a partner."""

    queue: Literal["waiting"]
    position: Annotated[int, Field(ge=1, description="1: next to be paired.")]
    ticket: Annotated[str, Field(description="Your place: call enter_queue again with it to keep it.")]


@with_config(CLOSED)
class QueueLeft(TypedDict):
    queue: Annotated[Literal["left", "not_waiting"], Field(description="not_waiting: you had no place to leave.")]


@with_config(CLOSED)
class RoomSummary(TypedDict):
    room_id: RoomId
    status: Status
    moves: Annotated[int, Field(ge=0, le=9)]
    current: Annotated[bool, Field(description="The room calls without a room_id are about.")]


@with_config(CLOSED)
class RoomList(TypedDict):
    """The rooms a connection created or played, newest first."""

    rooms: list[RoomSummary]
    current_room: RoomId | None


@with_config(CLOSED)
class Help(TypedDict):
    tools: Annotated[dict[str, str], Field(description="What each tool does.")]
    board: Annotated[list[list[Cell]], Field(description="The cells' numbers, row by row.")]


Code = Annotated[str, Field(description="Stable, like invalid_request, cell_occupied, room_not_found.")]
Said = Annotated[str, Field(description="What went wrong and what to do instead.")]
RetryAfter = Annotated[int, Field(ge=1, description="Seconds to wait before trying again.")]


@with_config(CLOSED)
class ErrorDetail(TypedDict):
    code: Code
    message: Said
    retry_after: NotRequired[RetryAfter]


@with_config(CLOSED)
class ErrorAnswer(TypedDict):
    """Every error; `room` when it happened in one."""

    error: ErrorDetail
    room: NotRequired[RoomState]


@with_config(CLOSED)
class BusyDetail(TypedDict):
    code: Code
    message: Said
    retry_after: RetryAfter


@with_config(CLOSED)
class BusyAnswer(TypedDict):
    """A refusal for now, not for good: `retry_after` says when to try again."""

    error: BusyDetail
    room: NotRequired[RoomState]


@with_config(CLOSED)
class Health(TypedDict):
    status: Literal["ok"]
    rooms: Annotated[int, Field(ge=0)]
    opponent: Annotated[str, Field(description="Who plays O.")]
