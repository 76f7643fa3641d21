"""The MCP server: its tools (thin adapters over the game service, each answering Markdown plus structured content
that its outputSchema describes), and one way of refusing arguments for all of them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastmcp import FastMCP
from fastmcp.exceptions import ValidationError
from fastmcp.server.middleware import Middleware
from fastmcp.tools import Tool, ToolResult
from fastmcp.utilities.versions import VersionSpec
from pydantic import ValidationError as ArgumentError

from tictactoe import __version__
from tictactoe.doors.arguments import explain
from tictactoe.doors.markdown import board_markdown
from tictactoe.doors.mcp.apps import add_board
from tictactoe.doors.mcp.common import READ, refusal, result, tool
from tictactoe.doors.mcp.connections import Connections
from tictactoe.doors.mcp.game import add_game_tools
from tictactoe.doors.mcp.people import add_people_tools
from tictactoe.doors.mcp.records import add_record_tools
from tictactoe.doors.schemas import schema_of
from tictactoe.game.errors import GameError, RoomNotFound, RoomRequired, StoreUnavailable
from tictactoe.services.games import GameService
from tictactoe.state.answers import Help

INSTRUCTIONS = (
    "Tic-tac-toe against a trash-talking opponent. Call create_room to start (it returns a room_id), "
    "then make_move with a position 0-8 (left to right, top to bottom): one call plays your move and the "
    "opponent's reply. Show the user the Markdown board you get back. Pass room_id on every call when you have it. "
    "To play another person: enter_queue (a stranger), or create_room with opponent 'human' and share the room_id "
    "(they call join_room); then make_move on your turn and wait_for_turn for theirs. get_game_history replays a "
    "game move by move; get_stats shows the leaderboard and the user's record."
)
ABOUT_A_ROOM = {"make_move", "send_chat", "get_room_state", "get_game_history", "wait_for_turn", "leave_chat"}


class ArgumentErrors(Middleware):
    """Arguments that fail the schema (position 9, 4.5, "4") get the same coded errors as the game's own, in the
    same words as over REST; a tool about a room shows its board beside the error."""

    def __init__(self, connections: Connections):
        self.connections = connections

    async def on_call_tool(self, context, call_next):
        try:
            return await call_next(context)
        except ValidationError as error:
            return refusal(self._explain(error, context))

    def _explain(self, error: ValidationError, context) -> GameError:
        explained = explain(error.__cause__.errors() if isinstance(error.__cause__, ArgumentError) else [])
        ctx, tool = context.fastmcp_context, context.message.name
        if ctx is not None and tool in ABOUT_A_ROOM:
            arguments = context.message.arguments or {}
            try:
                room_id = self.connections.target_room(ctx, str(arguments.get("room_id") or ""))
                explained.room = self.connections.service.room(room_id).to_dict()
            except (RoomRequired, RoomNotFound, StoreUnavailable):
                pass  # no board to show
        return explained


class FoundOnce(FastMCP):
    """FastMCP that looks each of its tools up once. On every call fastmcp asks each of its providers for the tool,
    each in a task of its own (46 µs a call, a twentieth of an SSE call); this server's tools are all registered
    before it serves, so it keeps what it found. What surrounds the lookup still runs on every call: injected
    tools, session transforms, whether the tool is enabled and the caller allowed it."""

    def __init__(self, **options: Any):
        super().__init__(**options)
        self._found: dict[str, Tool] = {}

    async def _get_tool(self, name: str, version: VersionSpec | None = None) -> Tool | None:
        if version is not None:
            return await super()._get_tool(name, version)
        found = self._found.get(name)
        if found is None:
            found = await super()._get_tool(name)
            if found is not None:
                self._found[name] = found
        return found

    def add_tool(self, tool: Tool | Callable[..., Any]) -> Tool:
        self._found.clear()
        return super().add_tool(tool)

    def remove_tool(self, name: str, version: str | None = None) -> None:
        self._found.clear()
        super().remove_tool(name, version)


def build_mcp(service: GameService) -> FastMCP:
    """The MCP server for `service`: the six tools of the tutorial, the two-person ones, history and scores."""
    connections = Connections(service)
    mcp = FoundOnce(
        name="TicTacToe",
        version=__version__,
        instructions=INSTRUCTIONS,
        middleware=[ArgumentErrors(connections)],
        strict_input_validation=True,
        mask_error_details=True,
    )
    add_game_tools(mcp, connections)
    add_record_tools(mcp, connections)
    add_people_tools(mcp, connections)
    add_board(mcp)

    @tool(mcp, annotations=READ, output_schema=schema_of(Help))
    async def get_help() -> ToolResult:
        """How to play: the rules, the board numbering and the tools."""
        shown: Help = {"tools": TOOLS, "board": [[0, 1, 2], [3, 4, 5], [6, 7, 8]]}
        return result(HELP, shown)

    return mcp


TOOLS = {
    "create_room": "Start a game (optional difficulty: easy, medium, hard). Returns room_id.",
    "make_move": "Play a cell 0-8; the opponent answers in the same call.",
    "send_chat": "Talk to the opponent.",
    "get_room_state": "Show the board, whose turn and the chat.",
    "list_rooms": "Your rooms on this connection.",
    "get_game_history": "Every move of a game with who, where from and when, and the chat: to replay it.",
    "get_stats": "The leaderboard, and your wins, losses and draws.",
    "enter_queue": "Be paired with a stranger (the first two waiting play each other).",
    "leave_queue": "Stop waiting for a partner.",
    "join_room": "Take the free seat in a room made for two people.",
    "wait_for_turn": "Wait (up to 120 s) until it is your turn, the game ends, or the other player speaks or leaves.",
    "leave_chat": "Leave a game between two people (an unfinished game is lost by forfeit).",
    "get_help": "This help.",
}
HELP = "\n".join(
    [
        "**Tic-tac-toe help**",
        "",
        "Against the opponent you are X and move first; between two people, X and O are drawn by lot and X moves "
        "first. Three in a row wins.",
        "",
        board_markdown([""] * 9, None),
        "",
        *(f"- `{name}`: {text}" for name, text in TOOLS.items()),
        "",
        "Pass the room_id from create_room on every call; on connections with a session it may be omitted.",
        "Each room has a live board in the browser: `links.play` to play there, `links.watch` to share.",
    ]
)
