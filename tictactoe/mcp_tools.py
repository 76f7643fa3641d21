"""The MCP tools: thin adapters over the game service, each answering Markdown plus structured content."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastmcp import Context, FastMCP
from fastmcp.exceptions import ValidationError
from fastmcp.server.middleware import Middleware
from fastmcp.tools import ToolResult
from key_value.aio.stores.memory import MemoryStore
from mcp.types import ToolAnnotations
from mcp_types.version import MODERN_PROTOCOL_VERSIONS
from pydantic import Field
from pydantic import ValidationError as ArgumentError

from tictactoe.errors import Busy, GameError, InvalidPosition, InvalidRequest, RoomNotFound, RoomRequired
from tictactoe.rules import as_json
from tictactoe.service import LOCAL, GameService
from tictactoe.views import board_markdown, room_markdown, with_base

INSTRUCTIONS = (
    "Tic-tac-toe against a trash-talking opponent. Call create_room to start (it returns a room_id), "
    "then make_move with a position 0-8 (left to right, top to bottom): one call plays your move and the "
    "opponent's reply. Show the user the Markdown board you get back. Pass room_id on every call when you have it."
)
ROOMS_REMEMBERED = 50  # per connection, for list_rooms
STATE_ENTRIES = 20_000  # session-state entries (two per connection); the least recently used go first
CREATE_ROOM = "Start a new tic-tac-toe game; the user is X and moves first. Returns the room_id to pass to later calls."

RoomId = Annotated[
    str,
    Field(max_length=64, description="The room's id from create_room. Omit to use this connection's current room."),
]
Difficulty = Annotated[
    str, Field(max_length=16, description="easy, medium or hard: the built-in engine plays. Omit for the default.")
]
Position = Annotated[int, Field(ge=0, le=8, description="Cell 0-8: 0 1 2 top row, 3 4 5 middle, 6 7 8 bottom.")]
ExpectedVersion = Annotated[
    int,
    Field(ge=0, description="The room's version you chose the move on; the move is refused if it changed. 0: any."),
]
PLAY = ToolAnnotations(readOnlyHint=False, destructiveHint=False, idempotentHint=False, openWorldHint=False)
READ = ToolAnnotations(readOnlyHint=True, openWorldHint=False)


def has_session(ctx: Context) -> bool:
    """Whether calls on this connection share a session (SSE, stdio and handshake-era HTTP do)."""
    request = ctx.request_context
    return request is not None and request.protocol_version not in MODERN_PROTOCOL_VERSIONS


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
    text = f"Error ({error.code}): {error.message}"
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


class ArgumentErrors(Middleware):
    """Arguments that fail the schema (position 9, 4.5, "4") get the same coded errors as the game's own."""

    def __init__(self, service: GameService):
        self.service = service

    async def on_call_tool(self, context, call_next):
        try:
            return await call_next(context)
        except ValidationError as error:
            return refusal(await self._explain(error, context))

    async def _explain(self, error: ValidationError, context) -> GameError:
        details = error.__cause__.errors() if isinstance(error.__cause__, ArgumentError) else []
        field = str(details[0]["loc"][0]) if details and details[0]["loc"] else "arguments"
        if field == "position":
            explained: GameError = InvalidPosition(
                f"position must be a whole number from 0 to 8, got {as_json(details[0].get('input'))}."
            )
        else:
            reason = details[0]["msg"] if details else "invalid arguments"
            explained = InvalidRequest(f"{field}: {reason}.")
        arguments, ctx = context.message.arguments or {}, context.fastmcp_context
        if ctx is not None:
            try:
                room_id = await target_room(ctx, str(arguments.get("room_id") or ""))
                explained.room = self.service.room(room_id).to_dict()
            except (RoomRequired, RoomNotFound):
                pass  # no board to show
        return explained


def build_mcp(service: GameService) -> FastMCP:
    """The MCP server for `service`, with the six tools of the tutorial."""
    mcp = FastMCP(
        name="TicTacToe",
        instructions=INSTRUCTIONS,
        middleware=[ArgumentErrors(service)],
        strict_input_validation=True,
        mask_error_details=True,
        session_state_store=MemoryStore(max_entries_per_collection=STATE_ENTRIES),
    )

    retention = (
        f"A room is deleted {service.rooms.ttl / 60:g} minutes after its last move or message, and when the server "
        f"restarts; the server holds at most {service.rooms.capacity} rooms at once."
    )

    @mcp.tool(annotations=PLAY, description=f"{CREATE_ROOM}\n\n{retention}")
    @refusing_game_errors
    async def create_room(ctx: Context, difficulty: Difficulty = "") -> ToolResult:
        room = service.create_room(difficulty or None, client=client_of(ctx))
        await remember(ctx, room.id)
        return answer(ctx, room.to_dict())

    @mcp.tool(annotations=PLAY)
    @refusing_game_errors
    async def make_move(
        ctx: Context, position: Position, room_id: RoomId = "", expected_version: ExpectedVersion = 0
    ) -> ToolResult:
        """Play the user's X at `position`; the opponent replies in the same call, with a line of trash talk.

        Returns the new board, whose turn it is, the status and the legal moves.
        """
        room_id = await target_room(ctx, room_id)
        turn = await service.play(room_id, position, client=client_of(ctx), expected_version=expected_version or None)
        await remember(ctx, room_id)
        return answer(ctx, turn.to_dict())

    @mcp.tool(annotations=PLAY)
    @refusing_game_errors
    async def send_chat(
        ctx: Context,
        message: Annotated[str, Field(description="What the user says to the opponent (1-500 characters).")],
        room_id: RoomId = "",
    ) -> ToolResult:
        """Say something to the opponent, who answers in character. Chat never changes the board."""
        room_id = await target_room(ctx, room_id)
        room = await service.chat(room_id, message, client=client_of(ctx))
        await remember(ctx, room_id)
        return answer(ctx, room.to_dict())

    @mcp.tool(annotations=READ)
    @refusing_game_errors
    async def get_room_state(ctx: Context, room_id: RoomId = "") -> ToolResult:
        """Show a room: the board, whose turn, the status, the legal moves and the latest chat."""
        room_id = await target_room(ctx, room_id)
        state = service.room(room_id).to_dict()
        await remember(ctx, room_id)
        return answer(ctx, state)

    @mcp.tool(annotations=READ)
    @refusing_game_errors
    async def list_rooms(ctx: Context) -> ToolResult:
        """List the rooms this connection created or played, newest first, with the current one marked."""
        if not has_session(ctx):
            raise RoomRequired(
                "This connection keeps no session between calls, so it cannot list your rooms. "
                "Keep the room_id that create_room returned and pass it to each call."
            )
        current = await ctx.get_state("current_room")
        summaries = []
        for room_id in await ctx.get_state("rooms") or []:
            try:
                state = service.room(room_id).to_dict()
            except RoomNotFound:
                continue
            summaries.append(
                {
                    "room_id": room_id,
                    "status": state["status"],
                    "moves": len(state["moves"]),
                    "current": room_id == current,
                }
            )
        lines = [
            f"- `{s['room_id']}`: {s['status']}, {s['moves']} moves{' (current)' if s['current'] else ''}"
            for s in summaries
        ]
        text = "\n".join(lines) if lines else "No rooms yet on this connection: call create_room to start one."
        return ToolResult(content=text, structured_content={"rooms": summaries, "current_room": current})

    @mcp.tool(annotations=READ)
    async def get_help() -> ToolResult:
        """How to play: the tools, the board numbering and the rules."""
        return ToolResult(content=HELP, structured_content={"tools": TOOLS, "board": [[0, 1, 2], [3, 4, 5], [6, 7, 8]]})

    return mcp


TOOLS = {
    "create_room": "Start a game (optional difficulty: easy, medium, hard). Returns room_id.",
    "make_move": "Play a cell 0-8; the opponent answers in the same call.",
    "send_chat": "Talk to the opponent.",
    "get_room_state": "Show the board, whose turn and the chat.",
    "list_rooms": "Your rooms on this connection.",
    "get_help": "This help.",
}
HELP = "\n".join(
    [
        "**Tic-tac-toe help**",
        "",
        "You are X and move first; the opponent is O. Three in a row wins.",
        "",
        board_markdown([""] * 9, None),
        "",
        *(f"- `{name}`: {text}" for name, text in TOOLS.items()),
        "",
        "Pass the room_id from create_room on every call; on connections with a session it may be omitted.",
        "Each room has a live board in the browser: `links.play` to play there, `links.watch` to share.",
    ]
)
