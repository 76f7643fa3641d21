"""The MCP tools for two people: invitations, the pairing queue, waiting for one's turn, leaving; and their seats.

A seat is proven by its player_token. Over SSE (and stdio) the connection remembers the tokens of its seats,
so a model need not carry them; clients without a session pass player_token back on each call. The other
person learns of each move, message and departure at once, through MCP notifications on their connection.
"""

from __future__ import annotations

import asyncio
from typing import Annotated

import anyio
from fastmcp import Context, FastMCP
from fastmcp.tools import ToolResult
from pydantic import Field

from tictactoe.doors.mcp.common import (
    PLAY,
    READ,
    RoomId,
    answer,
    client_of,
    has_session,
    player_of,
    refusing_game_errors,
    remember,
    target_room,
)
from tictactoe.services.games import GameService
from tictactoe.services.people import QUEUE_PATIENCE, WAIT_DEFAULT, WAIT_MOST, Listener
from tictactoe.state.room import Room

SEATS_REMEMBERED = 50  # per connection
PlayerToken = Annotated[
    str,
    Field(max_length=64, description="Your seat's token from join_room/enter_queue. Omit on connections that keep it."),
]
Name = Annotated[
    str, Field(max_length=40, description="Your display name: the other player sees it, the leaderboard lists it.")
]
Ticket = Annotated[str, Field(max_length=64, description="The ticket enter_queue gave you, to ask again. Optional.")]


def room_uri(room_id: str) -> str:
    return f"tictactoe://rooms/{room_id}"


def listener_for(ctx: Context) -> Listener | None:
    """How to reach this connection later, from any thread: an MCP resource-updated and a message notification."""
    if ctx.request_context is None:
        return None
    session, loop = ctx.session, asyncio.get_running_loop()

    async def deliver(event: str, data: dict) -> None:
        try:
            await session.send_resource_updated(room_uri(data["room_id"]))
            await session.send_log_message(level="info", data={"event": event, **data}, logger="tictactoe")
        except (anyio.ClosedResourceError, anyio.BrokenResourceError):
            pass  # they have gone; wait_for_turn or the room itself tells them when they come back

    def listener(event: str, data: dict) -> None:
        if not loop.is_closed():
            asyncio.run_coroutine_threadsafe(deliver(event, data), loop)

    return listener


def connection_of(ctx: Context) -> object | None:
    """The connection behind this call (the object whose closing FastMCP itself hooks), if it has one."""
    return getattr(ctx.session, "_connection", None) if ctx.request_context is not None else None


def watch_connection(ctx: Context, service: GameService, room_id: str, token: str) -> None:
    """Bind the seat to this connection, and when the connection closes, start the seat's grace period."""
    room = service.room(room_id)
    connection = connection_of(ctx)
    service.people.hold(room, token, listener_for(ctx), connection)
    exit_stack = getattr(connection, "exit_stack", None)
    if exit_stack is not None:

        async def on_close() -> None:
            service.people.dropped(room_id, token, connection)

        exit_stack.push_async_callback(on_close)


async def remember_seat(ctx: Context, service: GameService, room_id: str, token: str) -> None:
    """Keep a seat's token on this connection, so later calls about the room need not carry it, and bind the
    seat to the connection: its holder is told of the other's moves here, and leaves if it closes for good."""
    if has_session(ctx):
        seats = {room: t for room, t in (await ctx.get_state("seats") or {}).items() if room != room_id}
        await ctx.set_state("seats", dict(list({room_id: token, **seats}.items())[:SEATS_REMEMBERED]))
        watch_connection(ctx, service, room_id, token)
    await remember(ctx, room_id)


async def seat_token(ctx: Context, service: GameService, room: Room, given: str) -> str | None:
    """The token of the caller's seat in `room`: the one given, else the one this connection holds, if any."""
    if not room.two_people or not has_session(ctx):
        return given or None
    held = (await ctx.get_state("seats") or {}).get(room.id)
    token = given or held
    if token is None:
        ticket = await ctx.get_state("ticket")
        seat = service.people.claim(ticket, room.id) if ticket else None
        token = seat.token if seat is not None else None
    if token is not None and token != held:
        room.seat_of(token)  # a wrong token is refused here, before this connection keeps it
        await remember_seat(ctx, service, room.id, token)
    return token


async def room_and_token(ctx: Context, service: GameService, room_id: str, given: str) -> tuple[Room, str | None]:
    """The room a call is about, and the caller's seat token in it (if it is a game for two and they hold one)."""
    room = service.room(await target_room(ctx, room_id))
    return room, await seat_token(ctx, service, room, given)


async def queue_ticket(ctx: Context, given: str) -> str:
    """The caller's queue ticket: the one given, else the one this connection holds, else none."""
    return given or (await ctx.get_state("ticket") if has_session(ctx) else "") or ""


def add_people_tools(mcp: FastMCP, service: GameService) -> None:
    """Register the two-person tools and the room resource on `mcp`."""

    @mcp.tool(annotations=PLAY)
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

    @mcp.tool(annotations=PLAY)
    @refusing_game_errors
    async def leave_queue(ctx: Context, ticket: Ticket = "") -> ToolResult:
        """Stop waiting for a partner."""
        outcome = service.people.leave_queue(await queue_ticket(ctx, ticket))
        text = "You left the queue." if outcome["queue"] == "left" else "You were not waiting in the queue."
        return ToolResult(content=text, structured_content=outcome)

    @mcp.tool(annotations=PLAY)
    @refusing_game_errors
    async def join_room(ctx: Context, room_id: Annotated[str, Field(max_length=64)], name: Name = "") -> ToolResult:
        """Take the free seat in a room someone made for two people (create_room with opponent "human")."""
        seated = service.people.join(room_id, name, player_of(ctx))
        await remember_seat(ctx, service, room_id, seated.seat.token)
        return answer(ctx, seated.to_dict())

    @mcp.tool(annotations=READ)
    @refusing_game_errors
    async def wait_for_turn(
        ctx: Context,
        room_id: RoomId = "",
        timeout_seconds: Annotated[
            float, Field(ge=0, le=WAIT_MOST, description=f"At most this long (default {WAIT_DEFAULT:g}).")
        ] = WAIT_DEFAULT,
        player_token: PlayerToken = "",
    ) -> ToolResult:
        """In a game between two people, wait until it is your turn, the game ends, or the other player says
        something or leaves; then show what happened. Returns `timeout` if nothing did in time."""
        room, token = await room_and_token(ctx, service, room_id, player_token)
        waited = await service.people.wait_for_turn(room.id, token, timeout_seconds)
        return answer(ctx, waited.to_dict())

    @mcp.tool(annotations=PLAY)
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
