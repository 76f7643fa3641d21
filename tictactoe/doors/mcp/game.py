"""The tools of a game against the opponent, as the tutorial named them: start, move, talk, look, list."""

from __future__ import annotations

from typing import Annotated

from fastmcp import Context, FastMCP
from fastmcp.tools import ToolResult
from pydantic import Field

from tictactoe.doors.arguments import Difficulty, Message, Name, OpponentKind, Position, Version
from tictactoe.doors.mcp.apps import ON_BOARD
from tictactoe.doors.mcp.common import (
    PLAY,
    READ,
    PlayerToken,
    RoomId,
    answer,
    client_of,
    refusing_game_errors,
    result,
    tool,
)
from tictactoe.doors.mcp.connections import Connections, connection_key
from tictactoe.doors.schemas import schema_of
from tictactoe.game.engine import DIFFICULTIES
from tictactoe.game.errors import RoomRequired
from tictactoe.services.people import valid_name
from tictactoe.state.answers import RoomList, RoomState, RoomSummary, Seated, Turn
from tictactoe.state.room import Room
from tictactoe.state.seats import Player

ExpectedVersion = Annotated[
    Version, Field(description="The room's version you chose the move on; refused if its board changed since. 0: any.")
]
DifficultyOrDefault = Annotated[
    Difficulty,
    Field(
        description='easy, medium or hard: the built-in engine plays. Omitted or "": Mistral if the server has a key, '
        "else the default level.",
        json_schema_extra={"enum": ["", *DIFFICULTIES]},
    ),
]  # no null: a union is an anyOf, which the Mistral API has refused in tool schemas
CREATE_ROOM = (
    'Start a tic-tac-toe game. Against the opponent (opponent "ai", the default) the user is X, moves first, and '
    'the opponent answers each move in the same call. With opponent "human" it is a room for two people: the user '
    "takes a seat (X or O by lot; X moves first), shares the room_id, and keeps the player_token it returns."
)


def add_game_tools(mcp: FastMCP, connections: Connections) -> None:
    """Register create_room, make_move, send_chat, get_room_state and list_rooms on `mcp`."""
    _add_start_tool(mcp, connections)
    _add_move_tools(mcp, connections)
    _add_look_tools(mcp, connections)


def _add_start_tool(mcp: FastMCP, connections: Connections) -> None:
    """Register create_room on `mcp`, its description saying how long rooms are kept."""
    service = connections.service
    restarts = "" if service.rooms.durable else ", and when the server restarts"
    retention = (
        f"A room is deleted {service.rooms.ttl / 60:g} minutes after its last move or message{restarts}; "
        f"the server holds at most {service.rooms.capacity} rooms at once. Give a name to appear on the leaderboard."
    )
    room_or_seat = schema_of(Seated | RoomState)

    @tool(mcp, meta=ON_BOARD, annotations=PLAY, description=f"{CREATE_ROOM} {retention}", output_schema=room_or_seat)
    @refusing_game_errors
    async def create_room(
        ctx: Context, difficulty: DifficultyOrDefault = "", opponent: OpponentKind = "ai", name: Name = ""
    ) -> ToolResult:
        if opponent == "human":
            seated = service.people.open_room(name, client_of(ctx), connections.player_of(ctx))
            connections.remember_seat(ctx, seated.room.id, seated.seat.token)
            return answer(ctx, seated.to_dict())
        player = Player(connections.player_of(ctx), valid_name(name))
        room = service.create_room(difficulty or None, client=client_of(ctx), player=player)
        connections.remember(ctx, room.id)
        return answer(ctx, room.to_dict())


def _add_move_tools(mcp: FastMCP, connections: Connections) -> None:
    """Register make_move and send_chat on `mcp`."""
    service = connections.service

    @tool(mcp, meta=ON_BOARD, annotations=PLAY, output_schema=schema_of(Turn))
    @refusing_game_errors
    async def make_move(
        ctx: Context, position: Position, room_id: RoomId = "", expected_version: ExpectedVersion = 0,
        player_token: PlayerToken = "",
    ) -> ToolResult:  # fmt: skip
        """Play the user's mark at position. Against the opponent it answers in the same call, with a line of trash
        talk; a person is told at once. Returns the board, the status, whose turn, the legal moves and the version."""
        room, token = connections.room_and_token(ctx, room_id, player_token)
        version = expected_version or None
        turn = await service.play(
            room.id, position, client=client_of(ctx), expected_version=version, token=token, via="mcp", seen=room
        )
        connections.remember(ctx, room.id)
        return answer(ctx, turn.to_dict())

    @tool(mcp, annotations=PLAY, output_schema=schema_of(RoomState))
    @refusing_game_errors
    async def send_chat(
        ctx: Context, message: Message, room_id: RoomId = "", player_token: PlayerToken = ""
    ) -> ToolResult:
        """Say something: the opponent answers in character; in a game for two, the other player is told at once.
        Chat never changes the board."""
        room, token = connections.room_and_token(ctx, room_id, player_token)
        seen = await service.chat(room.id, message, client=client_of(ctx), token=token, via="mcp", seen=room)
        connections.remember(ctx, room.id)
        return answer(ctx, seen.to_dict())


def _add_look_tools(mcp: FastMCP, connections: Connections) -> None:
    """Register get_room_state and list_rooms on `mcp`."""

    @tool(mcp, meta=ON_BOARD, annotations=READ, output_schema=schema_of(RoomState))
    @refusing_game_errors
    async def get_room_state(ctx: Context, room_id: RoomId = "", player_token: PlayerToken = "") -> ToolResult:
        """Show a room: the board, whose turn, the status, the legal moves, the version and the latest chat."""
        room, token = connections.room_and_token(ctx, room_id, player_token)
        connections.remember(ctx, room.id)
        return answer(ctx, room.seen_by(token))  # in a game for two without a seat: a spectator's view

    @tool(mcp, annotations=READ, output_schema=schema_of(RoomList))
    @refusing_game_errors
    async def list_rooms(ctx: Context) -> ToolResult:
        """List the rooms this connection created or played, newest first, the current one marked (over SSE or
        stdio; over streamable HTTP each call stands alone)."""
        if connection_key(ctx) is None:
            raise RoomRequired(
                "This connection keeps no session between calls, so it cannot list your rooms. "
                "Keep the room_id that create_room returned and pass it to each call."
            )
        rooms, current, seats = connections.recall(ctx)
        summaries = [_summary(room, seats.get(room.id), current) for room in connections.service.rooms_found(rooms)]
        lines = [
            f"- `{s['room_id']}`: {s['status']}, {s['moves']} moves{' (current)' if s['current'] else ''}"
            for s in summaries
        ]
        text = "\n".join(lines) if lines else "No rooms yet on this connection: call create_room to start one."
        listed: RoomList = {"rooms": summaries, "current_room": current}
        return result(text, listed)


def _summary(room: Room, token: str | None, current: str | None) -> RoomSummary:
    """A room as list_rooms shows it (from the caller's seat, in a game for two)."""
    with room.lock:  # the status and the count, not the whole room: a connection may list fifty
        return {
            "room_id": room.id,
            "status": room.status(room.mark_of(token)),
            "moves": room.move_count,
            "current": room.id == current,
        }
