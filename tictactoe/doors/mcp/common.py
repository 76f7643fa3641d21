"""What every MCP tool shares: the session, the caller, the room a call is about, and how results and errors look."""

from __future__ import annotations

import functools
import inspect
import logging
import typing
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastmcp import Context, FastMCP
from fastmcp.exceptions import FastMCPError, NotFoundError
from fastmcp.server.dependencies import get_context
from fastmcp.tools import FunctionTool, ToolResult
from mcp.types import TextContent, ToolAnnotations
from pydantic import Field

from tictactoe.doors.arguments import Token
from tictactoe.doors.markdown import board_markdown, escaped, room_markdown, with_base
from tictactoe.game.errors import Busy, GameError
from tictactoe.services.games import LOCAL

RoomId = Annotated[
    str,
    Field(
        max_length=64,
        description="The room's id (from create_room, join_room or enter_queue). Omit for this connection's current "
        "room over SSE or stdio.",
    ),
]
PlayerToken = Annotated[
    Token,
    Field(
        description="Your seat's token in a room for two (from create_room, join_room or enter_queue). Omit where the "
        "connection keeps it: SSE, stdio.",
    ),
]
PLAY = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False)
READ = ToolAnnotations(readOnlyHint=True, openWorldHint=False)


class LeanTool(FunctionTool):
    """A tool as clients see it, without the `_meta.fastmcp` (its tags) fastmcp adds to every tool: noise in every
    tools/list a host reads, and nothing a client can use."""

    def get_meta(self) -> dict[str, Any]:
        meta = super().get_meta()
        meta.pop("fastmcp", None)
        return meta


def tool(mcp: FastMCP, **options: Any) -> Callable[[Callable], Callable]:
    """Register the decorated function on `mcp` as a LeanTool, its docstring as the description, in one paragraph:
    hosts show a description as it is, and a docstring's line breaks fall mid-sentence."""

    def register(fn: Callable) -> Callable:
        description = options.pop("description", None) or " ".join(inspect.getdoc(fn).split())
        mcp.add_tool(LeanTool.from_function(_given_context(fn), description=description, **options))
        return fn

    return register


def _given_context(fn: Callable[..., Awaitable[ToolResult]]) -> Callable[..., Awaitable[ToolResult]]:
    """`fn`, whose first parameter is `ctx: Context`, as a tool that takes only the caller's arguments and passes
    the call's context itself: fastmcp injects a declared Context through its dependency machinery, about 40 us a
    call, while the context is at hand anyway."""
    signature = inspect.signature(fn)
    parameters = list(signature.parameters.values())
    if not parameters or parameters[0].name != "ctx":
        return fn

    @functools.wraps(fn)
    async def given(**arguments: Any) -> ToolResult:
        return await fn(get_context(), **arguments)

    given.__signature__ = signature.replace(parameters=parameters[1:])
    given.__annotations__ = {
        name: hint for name, hint in typing.get_type_hints(fn, include_extras=True).items() if name != "ctx"
    }
    return given


def client_of(ctx: Context) -> str:
    """Who is calling, for the rate limits: the HTTP client's address as the gate resolved it, else local."""
    request = ctx.request_context.request if ctx.request_context is not None else None
    client = getattr(request, "client", None)
    return client.host if client is not None else LOCAL


def answer(ctx: Context, state: dict) -> ToolResult:
    """A room as a tool result, its links made absolute when the call came over HTTP."""
    request = ctx.request_context.request if ctx.request_context is not None else None
    base = getattr(request, "base_url", None)
    if base is not None:
        state = with_base(state, str(base))
    return result(room_markdown(state), state)


def refusal(error: GameError) -> ToolResult:
    """A tool error the model can act on: the code, what to do, and the board where there is one."""
    text = f"Error ({error.code}): {escaped(error.message)}"  # it may quote what the caller sent
    data: dict = {"error": {"code": error.code, "message": error.message}}
    if isinstance(error, Busy):
        data["error"]["retry_after"] = error.retry_after
    if error.room is not None:
        text += "\n\n" + board_markdown(error.room["board"], error.room["winning_line"])
        data["room"] = error.room
    return result(text, data, is_error=True)


def result(text: str, data: dict, is_error: bool = False) -> ToolResult:
    """A tool result: the Markdown a chat shows, and the structured content, taken as they are. fastmcp's
    ToolResult() would dump the content to JSON and read it back, to be sure it is JSON: every answer here is made
    of JSON's own types already (tests/test_mcp.py holds each tool's answer to that), and the check cost a room's
    answer 13 µs."""
    return ToolResult.model_construct(
        content=[TextContent(type="text", text=text)], structured_content=data, is_error=is_error
    )


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
