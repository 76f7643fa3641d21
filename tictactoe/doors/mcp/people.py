"""The MCP tools for two people: invitations, the pairing queue, waiting for one's turn, leaving; and the room as a
resource. The other person learns of each move, message and departure at once (seats.py)."""

from __future__ import annotations

from typing import Annotated

from fastmcp import Context, FastMCP
from fastmcp.tools import ToolResult
from pydantic import Field

from tictactoe.doors.arguments import Name
from tictactoe.doors.mcp.apps import ON_BOARD
from tictactoe.doors.mcp.common import (
    PLAY,
    READ,
    RoomId,
    answer,
    client_of,
    has_session,
    player_of,
    refusing_game_errors,
)
from tictactoe.doors.mcp.seats import PlayerToken, listener_for, queue_ticket, remember_seat, room_and_token, seat_token
from tictactoe.doors.schemas import schema_of
from tictactoe.services.games import GameService
from tictactoe.services.people import QUEUE_PATIENCE, WAIT_DEFAULT, WAIT_MOST
from tictactoe.state.answers import Matched, QueueLeft, QueueWaiting, RoomState, Seated, Waited

Ticket = Annotated[str, Field(max_length=64, description="The ticket enter_queue gave you, to ask again. Optional.")]
Waiting = Annotated[float, Field(ge=0, le=WAIT_MOST, description=f"At most this long (default {WAIT_DEFAULT:g}).")]


def add_people_tools(mcp: FastMCP, service: GameService) -> None:
    """Register the two-person tools and the room resource on `mcp`."""
    _add_queue_tools(mcp, service)
    _add_seat_tools(mcp, service)


def _add_queue_tools(mcp: FastMCP, service: GameService) -> None:
    """Register enter_queue and leave_queue on `mcp`."""

    @mcp.tool(annotations=PLAY, output_schema=schema_of(QueueWaiting | Matched), app=ON_BOARD)
    @refusing_game_errors
    async def enter_queue(ctx: Context, name: Name = "", ticket: Ticket = "") -> ToolResult:
        """Find a stranger to play: the first two waiting are paired in a new room, X and O by lot.

        Answers queue `waiting` (with your place in the queue and a ticket) or `matched` (the room_id, your mark
        and who moves first). While waiting, call again (with the ticket, where the connection keeps no session).
        """
        outcome = service.people.enter_queue(
            await queue_ticket(ctx, ticket), name, client_of(ctx), listener_for(ctx), player_of(ctx)
        )
        if has_session(ctx):
            await ctx.set_state("ticket", outcome["ticket"])
        if outcome["queue"] == "waiting":
            text = (
                f"Waiting for a partner: you are number {outcome['position']} in the queue. Call enter_queue again "
                f"within {QUEUE_PATIENCE / 60:g} minutes, or your place is given up."
            )
            return ToolResult(content=text, structured_content=outcome)
        await remember_seat(ctx, service, outcome["room_id"], outcome["player_token"])
        return answer(ctx, outcome)

    @mcp.tool(annotations=PLAY, output_schema=schema_of(QueueLeft))
    @refusing_game_errors
    async def leave_queue(ctx: Context, ticket: Ticket = "") -> ToolResult:
        """Stop waiting for a partner."""
        outcome = service.people.leave_queue(await queue_ticket(ctx, ticket))
        text = "You left the queue." if outcome["queue"] == "left" else "You were not waiting in the queue."
        return ToolResult(content=text, structured_content=outcome)


def _add_seat_tools(mcp: FastMCP, service: GameService) -> None:
    """Register join_room, wait_for_turn, leave_chat and the room resource on `mcp`."""

    @mcp.tool(annotations=PLAY, output_schema=schema_of(Seated), app=ON_BOARD)
    @refusing_game_errors
    async def join_room(ctx: Context, room_id: Annotated[str, Field(max_length=64)], name: Name = "") -> ToolResult:
        """Take the free seat in a room someone made for two people (create_room with opponent "human")."""
        seated = service.people.join(room_id, name, player_of(ctx))
        await remember_seat(ctx, service, room_id, seated.seat.token)
        return answer(ctx, seated.to_dict())

    @mcp.tool(annotations=READ, output_schema=schema_of(Waited), app=ON_BOARD)
    @refusing_game_errors
    async def wait_for_turn(
        ctx: Context, room_id: RoomId = "", timeout_seconds: Waiting = WAIT_DEFAULT, player_token: PlayerToken = ""
    ) -> ToolResult:
        """In a game between two people, wait until it is your turn, the game ends, or the other player says
        something or leaves; then show what happened. Returns `timeout` if nothing did in time."""
        room, token = await room_and_token(ctx, service, room_id, player_token)
        waited = await service.people.wait_for_turn(room.id, token, timeout_seconds)
        return answer(ctx, waited.to_dict())

    @mcp.tool(annotations=PLAY, output_schema=schema_of(RoomState), app=ON_BOARD)
    @refusing_game_errors
    async def leave_chat(ctx: Context, room_id: RoomId = "", player_token: PlayerToken = "") -> ToolResult:
        """Leave a game between two people: the other player is told, and an unfinished game is yours lost."""
        room, token = await room_and_token(ctx, service, room_id, player_token)
        seated = service.people.leave(room.id, token)
        return answer(ctx, seated.room.to_dict(seated.seat.mark))

    @mcp.resource("tictactoe://rooms/{room_id}", mime_type="application/json")
    async def room_resource(room_id: str, ctx: Context) -> dict:
        """A room, as the reader sees it: from their seat if they hold one, else as a spectator."""
        room = service.room(room_id)
        return room.seen_by(await seat_token(ctx, service, room, ""))
