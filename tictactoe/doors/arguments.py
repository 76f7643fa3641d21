"""What callers send, typed once for every door: the MCP tools' parameters and the REST API's request bodies share
these types, and a mistake in either is explained in the same words (`explain`).

The types check form (a whole number, text of a length); what only the game can judge (a free cell, a known
difficulty, a non-blank message) the service checks, for every door alike.
"""

from __future__ import annotations

import functools
from typing import Annotated, Literal, NotRequired

from pydantic import Field, TypeAdapter, ValidationError
from pydantic_core import ErrorDetails
from typing_extensions import TypedDict

from tictactoe.game.engine import DIFFICULTIES
from tictactoe.game.errors import GameError, InvalidPosition, InvalidRequest
from tictactoe.game.rules import as_json
from tictactoe.services.games import MESSAGE_LIMIT
from tictactoe.services.people import NAME_LIMIT
from tictactoe.state.scores import LEADERS_MOST
from tictactoe.state.text import CONTROLS

Position = Annotated[int, Field(ge=0, le=8, description="Cell 0-8: 0 1 2 top row, 3 4 5 middle, 6 7 8 bottom.")]
Version = Annotated[int, Field(ge=0, description="The room's version you chose the move on.")]
Difficulty = Annotated[
    str,
    Field(
        max_length=16,
        description="easy, medium or hard: the built-in engine plays.",
        json_schema_extra={"enum": list(DIFFICULTIES)},  # the service judges it, in its own words
    ),
]
OpponentKind = Annotated[
    Literal["ai", "human"],
    Field(description='"ai" (default): play the opponent. "human": a room for two people; share its room_id.'),
]
Name = Annotated[
    str,
    Field(max_length=NAME_LIMIT, description="Your display name: the other player sees it, the leaderboard lists it."),
]
Named = Annotated[str, Field(max_length=NAME_LIMIT, description="A player's name, for their record. Optional.")]
Token = Annotated[str, Field(max_length=64, description="Your seat's player_token, in a room for two people.")]
Message = Annotated[
    str,
    Field(
        description="What you say; chat never changes the board.",
        json_schema_extra={"minLength": 1, "maxLength": MESSAGE_LIMIT},  # the service judges it, in its own words
    ),
]
Leaders = Annotated[int, Field(ge=1, le=LEADERS_MOST, description="Names on the leaderboard (default 10).")]

# The REST API's document also spells out, as patterns, what the service refuses in its own words (text.py): its
# fuzz tests generate requests from them. A model reading a tool's schema is better served by the words.
BLANK = r"\t-\r \u001c-\u001f\u0085\u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"  # str.strip()'s
FIT = Field(json_schema_extra={"pattern": f"^[^{CONTROLS}]*$"})
SAID = Field(json_schema_extra={"pattern": f"^[^{CONTROLS}]*[^{BLANK}{CONTROLS}][^{CONTROLS}]*$"})


class NewRoom(TypedDict, total=False):
    """POST /rooms: everything optional."""

    difficulty: Annotated[
        Difficulty | None,
        Field(description="Omitted or null: Mistral plays if the server has a key, else the default."),
    ]
    opponent: OpponentKind
    name: Annotated[Name, FIT]


class Join(TypedDict, total=False):
    name: Annotated[Name, FIT]


class Leave(TypedDict):
    player_token: Token


class Move(TypedDict):
    position: Position
    expected_version: NotRequired[
        Annotated[
            Version | None,
            Field(description="The version of the room you saw: if its board has changed since, the move is refused "
                  "(409 stale_version). Omitted or null: no check."),
        ]
    ]  # fmt: skip
    player_token: NotRequired[Token]


class Chat(TypedDict):
    message: Annotated[Message, SAID]
    player_token: NotRequired[Token]


class StatsQuery(TypedDict, total=False):
    """GET /stats: what to show beside the leaderboard."""

    limit: Leaders
    name: Annotated[Named, FIT]


def explain(details: list[ErrorDetails]) -> GameError:
    """The first of a validation's complaints, as the game's own coded error: the same words over MCP and REST."""
    first = details[0] if details else None
    field = str(first["loc"][0]) if first and first["loc"] else "arguments"
    if field == "position":
        if first["type"] in ("missing", "missing_argument"):  # a body's key; a function's argument
            return InvalidPosition("position is required: the cell to play, a whole number from 0 to 8.")
        return InvalidPosition(f"position must be a whole number from 0 to 8, got {as_json(first.get('input'))}.")
    return InvalidRequest(f"{field}: {first['msg'] if first else 'invalid arguments'}.")


@functools.cache
def adapter(kind: type) -> TypeAdapter:
    """The validator of `kind`, built once: building one takes longer than a whole move."""
    return TypeAdapter(kind)


def checked(kind: type, body: dict) -> dict:
    """`body` as `kind` types it (keys it does not know are dropped), or the explained error. JSON's 4.0 is the
    integer 4, as JSON Schema reads it; otherwise types are strict, as they are over MCP."""
    whole = {
        key: int(value) if isinstance(value, float) and value.is_integer() else value for key, value in body.items()
    }
    try:
        return adapter(kind).validate_python(whole, strict=True)
    except ValidationError as error:
        raise explain(error.errors()) from None
