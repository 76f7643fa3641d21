"""Seats kept per connection: over SSE (and stdio) the connection remembers the tokens of its seats and its queue
ticket, so a model need not carry them, and it is how the other person reaches its holder at once (MCP
notifications); clients without a session pass player_token back on each call."""

from __future__ import annotations

import asyncio
from typing import Annotated

import anyio
from fastmcp import Context
from pydantic import Field

from tictactoe.doors.arguments import Token
from tictactoe.doors.mcp.common import has_session, remember, target_room
from tictactoe.services.games import GameService
from tictactoe.services.people import Listener
from tictactoe.state.room import Room

SEATS_REMEMBERED = 50  # per connection
PlayerToken = Annotated[
    Token, Field(description="Your seat's token from join_room/enter_queue. Omit on connections that keep it.")
]


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
