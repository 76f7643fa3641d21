"""What every MCP tool shares: the session, the caller, the room a call is about, and how results and errors look."""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastmcp import Context
from fastmcp.exceptions import FastMCPError, NotFoundError
from fastmcp.tools import ToolResult
from mcp.types import ToolAnnotations
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import Field

from tictactoe.doors.markdown import board_markdown, escaped, room_markdown, with_base
from tictactoe.game.errors import Busy, GameError, RoomRequired
from tictactoe.services.games import LOCAL
from tictactoe.state.seats import ANONYMOUS, player_key

ROOMS_REMEMBERED = 50  # per connection, for list_rooms

RoomId = Annotated[
    str,
    Field(max_length=64, description="The room's id from create_room. Omit to use this connection's current room."),
]
PLAY = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False)
READ = ToolAnnotations(readOnlyHint=True, openWorldHint=False)


def has_session(ctx: Context) -> bool:
    """Whether calls on this connection share a session (SSE, stdio and handshake-era HTTP do)."""
    request = ctx.request_context
    return request is not None and request.protocol_version not in MODERN_PROTOCOL_VERSIONS


def player_of(ctx: Context) -> str:
    """Whose record this caller's results go to: their connection's, if calls on it share a session."""
    return player_key("connection", ctx.session_id) if has_session(ctx) else ANONYMOUS


def client_of(ctx: Context) -> str:
    """Who is calling, for the rate limits: the HTTP client's address as the gate resolved it, else local."""
    request = ctx.request_context.request if ctx.request_context is not None else None
    client = getattr(request, "client", None)
    return client.host if client is not None else LOCAL


async def target_room(ctx: Context, room_id: str) -> str:
    """The room a call is about: the one named, else this connection's current room."""
    if room_id:
        return room_id
    if not has_session(ctx):
        raise RoomRequired("This connection keeps no session between calls, so pass room_id (create_room returned it).")
    current = await ctx.get_state("current_room")
    if not current:
        raise RoomRequired("There is no current room on this connection: call create_room first, or pass room_id.")
    return current


async def remember(ctx: Context, room_id: str) -> None:
    """Make `room_id` this connection's current room and list it in list_rooms."""
    if not has_session(ctx):
        return
    known = [r for r in await ctx.get_state("rooms") or [] if r != room_id]
    await ctx.set_state("rooms", [room_id, *known][:ROOMS_REMEMBERED])
    await ctx.set_state("current_room", room_id)


def answer(ctx: Context, state: dict) -> ToolResult:
    """A room as a tool result, its links made absolute when the call came over HTTP."""
    request = ctx.request_context.request if ctx.request_context is not None else None
    base = getattr(request, "base_url", None)
    if base is not None:
        state = with_base(state, str(base))
    return ToolResult(content=room_markdown(state), structured_content=state)


def refusal(error: GameError) -> ToolResult:
    """A tool error the model can act on: the code, what to do, and the board where there is one."""
    text = f"Error ({error.code}): {escaped(error.message)}"  # it may quote what the caller sent
    data: dict = {"error": {"code": error.code, "message": error.message}}
    if isinstance(error, Busy):
        data["error"]["retry_after"] = error.retry_after
    if error.room is not None:
        text += "\n\n" + board_markdown(error.room["board"], error.room["winning_line"])
        data["room"] = error.room
    return ToolResult(content=text, structured_content=data, is_error=True)


def refusing_game_errors(tool: Callable[..., Awaitable[ToolResult]]) -> Callable[..., Awaitable[ToolResult]]:
    """Turn a GameError raised by `tool` into an isError result instead of a logged exception."""

    @functools.wraps(tool)
    async def wrapper(*args, **kwargs) -> ToolResult:
        try:
            return await tool(*args, **kwargs)
        except GameError as error:
            return refusal(error)

    return wrapper


class UnknownResource(FastMCPError, NotFoundError):
    """A resource URI that names nothing, such as a room that never was or has expired. As a NotFoundError, fastmcp
    answers it as it answers a URI no template matches (SEP-2164: -32602, the uri in `data`) rather than as an
    internal error; as a FastMCPError it is logged at the level given here, debug: the caller's mistake, not a bug."""

    def __init__(self):
        super().__init__("Nothing at this URI.", log_level=logging.DEBUG)
