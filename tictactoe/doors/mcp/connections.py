"""What the server remembers of each MCP connection: its current room (used when a call names none), the rooms it
played, its seats' tokens and its queue ticket; and, for the other person's news, how to reach it.

A connection is what the transport makes one, in either protocol era: an SSE stream (by its session_id), the stdio
process, or a streamable-HTTP session of the handshake era. Over sessionless 2026-07-28 streamable HTTP each call
stands alone: callers pass room_id (and player_token) themselves.
"""

from __future__ import annotations

import asyncio

import anyio
from fastmcp import Context
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from tictactoe.game.errors import RoomRequired
from tictactoe.services.games import GameService
from tictactoe.state.room import Room
from tictactoe.state.seats import ANONYMOUS, player_key
from tictactoe.state.shared import Listener

CONNECTIONS_KEPT = 20_000  # connections remembered; the least recently used is forgotten first
ROOMS_REMEMBERED = 50  # per connection, for list_rooms
SEATS_REMEMBERED = 50  # per connection


def room_uri(room_id: str) -> str:
    return f"tictactoe://rooms/{room_id}"


def connection_key(ctx: Context) -> str | None:
    """The connection this call came over, as a key; None if the call stands alone."""
    request = ctx.request_context
    if request is None:
        return None
    if ctx.transport == "sse":  # the stream's own id, the same in either era (the library's session id is not)
        session = request.request.query_params.get("session_id") if request.request is not None else None
        return f"sse:{session}" if session else None
    if ctx.transport == "stdio":
        return "stdio"  # the process is the one connection
    return f"session:{ctx.session_id}" if handshake_era(ctx) else None


def handshake_era(ctx: Context) -> bool:
    """Whether the connection has a session the server can push news to: the 2025-11-25 era (not 2026-07-28), and
    over streamable HTTP a session the server keeps (none when it runs stateless, with several workers)."""
    request = ctx.request_context
    if request is None or request.protocol_version in MODERN_PROTOCOL_VERSIONS:
        return False
    http = request.request if ctx.transport not in ("sse", "stdio") else None
    return http is None or "mcp-session-id" in http.headers


class Connections:
    """Each connection's memory, for `service`'s rooms, kept in its store (in memory, at most CONNECTIONS_KEPT
    connections at once)."""

    def __init__(self, service: GameService):
        self.service = service
        # Read back where they were written: every call of a connection reaches the process that holds it (an SSE
        # POST that reaches another is relayed to it; stdio is one process; streamable HTTP keeps none across).
        self._kept = service.rooms.notes("connection", CONNECTIONS_KEPT, read_here=True)

    def player_of(self, ctx: Context) -> str:
        """Whose record this caller's results go to: their connection's, if there is one."""
        key = connection_key(ctx)
        return player_key("connection", key) if key else ANONYMOUS

    def target_room(self, ctx: Context, room_id: str) -> str:
        """The room a call is about: the one named, else this connection's current room."""
        if room_id:
            return room_id
        if connection_key(ctx) is None:
            raise RoomRequired(
                "This connection keeps no session between calls, so pass room_id (create_room returned it)."
            )
        current = self._recalled(ctx).get("current_room")
        if not current:
            raise RoomRequired("There is no current room on this connection: call create_room first, or pass room_id.")
        return current

    def remember(self, ctx: Context, room_id: str) -> None:
        """Make `room_id` this connection's current room and list it in list_rooms."""
        memory = self._recalled(ctx)
        rooms = [room_id, *(r for r in memory.get("rooms", []) if r != room_id)][:ROOMS_REMEMBERED]
        if (memory.get("rooms"), memory.get("current_room")) != (rooms, room_id):  # else nothing to write
            self._keep(ctx, {**memory, "rooms": rooms, "current_room": room_id})

    def recall(self, ctx: Context) -> tuple[list[str], str | None, dict[str, str]]:
        """This connection's rooms (newest first), its current room and its seats' tokens by room."""
        memory = self._recalled(ctx)
        return memory.get("rooms", []), memory.get("current_room"), memory.get("seats", {})

    def remember_seat(self, ctx: Context, room_id: str, token: str) -> None:
        """Keep a seat's token on this connection, so later calls about the room need not carry it, and bind the
        seat to the connection: its holder is told of the other's moves here, and leaves if it closes for good."""
        memory = self._recalled(ctx)
        seats = {room: held for room, held in memory.get("seats", {}).items() if room != room_id}
        self._keep(ctx, {**memory, "seats": dict(list({room_id: token, **seats}.items())[:SEATS_REMEMBERED])})
        if handshake_era(ctx):
            self._watch(ctx, room_id, token)
        self.remember(ctx, room_id)

    def seat_token(self, ctx: Context, room: Room, given: str) -> str | None:
        """The token of the caller's seat in `room`: the one given, else the one this connection holds, if any."""
        if not room.two_people or connection_key(ctx) is None:
            return given or None
        held = self._recalled(ctx).get("seats", {}).get(room.id)
        token = given or held
        if token is None:
            ticket = self._recalled(ctx).get("ticket")
            seat = self.service.people.claim(ticket, room.id) if ticket else None
            token = seat.token if seat is not None else None
        if token is not None and token != held:
            room.seat_of(token)  # a wrong token is refused here, before this connection keeps it
            self.remember_seat(ctx, room.id, token)
        return token

    def room_and_token(self, ctx: Context, room_id: str, given: str) -> tuple[Room, str | None]:
        """The room a call is about, and the caller's seat token in it (if it is a game for two and they hold one)."""
        room = self.service.room(self.target_room(ctx, room_id))
        return room, self.seat_token(ctx, room, given)

    def queue_ticket(self, ctx: Context, given: str) -> str:
        """The caller's queue ticket: the one given, else the one this connection holds, else none."""
        return given or self._recalled(ctx).get("ticket", "")

    def keep_ticket(self, ctx: Context, ticket: str) -> None:
        memory = self._recalled(ctx)
        if memory.get("ticket") != ticket:
            self._keep(ctx, {**memory, "ticket": ticket})

    def reachable(self, ctx: Context) -> str | None:
        """This connection's key, once news for it reaches it here until it closes; None if it takes no news."""
        key = connection_key(ctx)
        if key is None or not handshake_era(ctx):
            return None
        reach = self.service.rooms.reach
        if not reach.listening(key):
            reach.listen(key, listener_for(ctx))
            self._on_close(ctx, lambda: reach.forget(key))
        return key

    def _recalled(self, ctx: Context) -> dict:
        """This connection's memory (a call that stands alone gets a blank one)."""
        key = connection_key(ctx)
        return (self._kept.get(key) or {}) if key is not None else {}

    def _keep(self, ctx: Context, memory: dict) -> None:
        key = connection_key(ctx)
        if key is not None:
            self._kept.put(key, memory)

    def _watch(self, ctx: Context, room_id: str, token: str) -> None:
        """Bind the seat to this connection, and when the connection closes, start the seat's grace period."""
        holder = self.reachable(ctx)
        if holder is None:
            return
        self.service.people.hold(self.service.room(room_id), token, holder)
        self._on_close(ctx, lambda: self.service.people.dropped(room_id, token, holder))

    @staticmethod
    def _on_close(ctx: Context, then) -> None:
        """Call `then` when this connection's session closes, if the library says when."""
        exit_stack = getattr(getattr(ctx.session, "_connection", None), "exit_stack", None)  # what FastMCP hooks
        if exit_stack is not None:

            async def on_close() -> None:
                then()

            exit_stack.push_async_callback(on_close)


def listener_for(ctx: Context) -> Listener:
    """How to reach this connection later, from any thread: an MCP resource-updated and a message notification.
    Only a handshake-era session takes news the server sends of itself."""
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
