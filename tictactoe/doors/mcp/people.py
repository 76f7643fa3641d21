"""The MCP tools for two people: invitations, the pairing queue, waiting for one's turn, leaving; and the room as a
resource. The other person learns of each move, message and departure at once (connections.py)."""

from __future__ import annotations

from typing import Annotated

from fastmcp import Context, FastMCP
from fastmcp.tools import ToolResult
from pydantic import Field

from tictactoe.doors.arguments import Name
from tictactoe.doors.markdown import queue_markdown
from tictactoe.doors.mcp.apps import ON_BOARD
from tictactoe.doors.mcp.common import (
    PLAY,
    READ,
    PlayerToken,
    RoomId,
    UnknownResource,
    answer,
    client_of,
    refusing_game_errors,
    result,
    tool,
)
from tictactoe.doors.mcp.connections import Connections
from tictactoe.doors.schemas import schema_of
from tictactoe.game.errors import RoomNotFound
from tictactoe.services.people import QUEUE_PATIENCE, WAIT_DEFAULT, WAIT_MOST
from tictactoe.state.answers import Matched, QueueLeft, QueueWaiting, RoomState, Seated, Waited

Ticket = Annotated[
    str,
    Field(
        max_length=64,
        description="The ticket a previous enter_queue gave you, to keep your place. Omit the first time, and on a "
        "connection that keeps it (SSE, stdio).",
    ),
]
Waiting = Annotated[
    float, Field(ge=0, le=WAIT_MOST, description=f"At most this long, in seconds (default {WAIT_DEFAULT:g}).")
]
Invitation = Annotated[str, Field(max_length=64, description="The id of the room to join, as its maker shared it.")]


def add_people_tools(mcp: FastMCP, connections: Connections) -> None:
    """Register the two-person tools and the room resource on `mcp`."""
    _add_queue_tools(mcp, connections)
    _add_seat_tools(mcp, connections)


def _add_queue_tools(mcp: FastMCP, connections: Connections) -> None:
    """Register enter_queue and leave_queue on `mcp`."""
    people = connections.service.people

    described = (
        "Find a stranger to play: the first two waiting are paired in a new room, X and O by lot. Answers queue "
        '"waiting" (your place and a ticket) or "matched" (the room_id, your mark, your player_token, who moves '
        f"first). While waiting, call again with the ticket within {QUEUE_PATIENCE / 60:g} minutes to keep your place."
    )

    @tool(mcp, meta=ON_BOARD, annotations=PLAY, description=described, output_schema=schema_of(QueueWaiting | Matched))
    @refusing_game_errors
    async def enter_queue(ctx: Context, name: Name = "", ticket: Ticket = "") -> ToolResult:
        given = connections.queue_ticket(ctx, ticket)
        outcome = people.enter_queue(
            given, name, client_of(ctx), connections.reachable(ctx), connections.player_of(ctx)
        )
        connections.keep_ticket(ctx, outcome["ticket"])
        if outcome["queue"] == "waiting":
            return result(queue_markdown(outcome, QUEUE_PATIENCE), outcome)
        connections.remember_seat(ctx, outcome["room_id"], outcome["player_token"])
        return answer(ctx, outcome)

    @tool(mcp, annotations=PLAY, output_schema=schema_of(QueueLeft))
    @refusing_game_errors
    async def leave_queue(ctx: Context, ticket: Ticket = "") -> ToolResult:
        """Stop waiting for a partner."""
        outcome = people.leave_queue(connections.queue_ticket(ctx, ticket))
        text = "You left the queue." if outcome["queue"] == "left" else "You were not waiting in the queue."
        return result(text, outcome)


def _add_seat_tools(mcp: FastMCP, connections: Connections) -> None:
    """Register join_room, wait_for_turn, leave_chat and the room resource on `mcp`."""
    service = connections.service

    @tool(mcp, meta=ON_BOARD, annotations=PLAY, output_schema=schema_of(Seated))
    @refusing_game_errors
    async def join_room(ctx: Context, room_id: Invitation, name: Name = "") -> ToolResult:
        """Take the free seat in a room someone made for two people (create_room with opponent "human"); returns the
        player_token that proves the seat."""
        seated = service.people.join(room_id, name, connections.player_of(ctx))
        connections.remember_seat(ctx, room_id, seated.seat.token)
        return answer(ctx, seated.to_dict())

    @tool(mcp, meta=ON_BOARD, annotations=READ, output_schema=schema_of(Waited))
    @refusing_game_errors
    async def wait_for_turn(
        ctx: Context, room_id: RoomId = "", timeout_seconds: Waiting = WAIT_DEFAULT, player_token: PlayerToken = ""
    ) -> ToolResult:
        """Wait until it is the user's turn, the game ends, or the other player comes, says something or leaves, then
        show what happened (event), or "timeout" if nothing did in time. In a game against the opponent it answers at
        once: the opponent moves within make_move."""
        room, token = connections.room_and_token(ctx, room_id, player_token)
        waited = await service.people.wait_for_turn(room.id, token, timeout_seconds)
        return answer(ctx, waited.to_dict())

    @tool(mcp, meta=ON_BOARD, annotations=PLAY, output_schema=schema_of(RoomState))
    @refusing_game_errors
    async def leave_chat(ctx: Context, room_id: RoomId = "", player_token: PlayerToken = "") -> ToolResult:
        """Leave a game between two people: the other player is told, and an unfinished game is lost by forfeit."""
        room, token = connections.room_and_token(ctx, room_id, player_token)
        seated = service.people.leave(room.id, token)
        return answer(ctx, seated.room.to_dict(seated.seat.mark))

    @mcp.resource("tictactoe://rooms/{room_id}", mime_type="application/json")
    async def room_resource(room_id: str, ctx: Context) -> dict:
        """A room, as the reader sees it: from their seat if they hold one, else as a spectator."""
        try:
            room = service.room(room_id)
        except RoomNotFound:
            raise UnknownResource() from None
        return room.seen_by(connections.seat_token(ctx, room, ""))
