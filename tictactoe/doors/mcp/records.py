"""The tools that look back: a game's history, and the scores."""

from __future__ import annotations

from fastmcp import Context, FastMCP
from fastmcp.tools import ToolResult

from tictactoe.doors.arguments import Leaders, Named
from tictactoe.doors.markdown import history_markdown, stats_markdown
from tictactoe.doors.mcp.common import READ, RoomId, player_of, refusing_game_errors
from tictactoe.doors.mcp.seats import PlayerToken, room_and_token
from tictactoe.doors.schemas import schema_of
from tictactoe.services.games import GameService
from tictactoe.state.answers import History, Stats


def add_record_tools(mcp: FastMCP, service: GameService) -> None:
    """Register get_game_history and get_stats on `mcp`."""

    @mcp.tool(annotations=READ, output_schema=schema_of(History))
    @refusing_game_errors
    async def get_game_history(ctx: Context, room_id: RoomId = "", player_token: PlayerToken = "") -> ToolResult:
        """A game from its first move: every move in order with who made it, where it came from (mcp, rest, page
        or the server's opponent) and when, the board after each move (to replay it), and the chat."""
        room, token = await room_and_token(ctx, service, room_id, player_token)
        history = room.history(room.mark_of(token))
        return ToolResult(content=history_markdown(history), structured_content=history)

    @mcp.tool(annotations=READ, output_schema=schema_of(Stats))
    @refusing_game_errors
    async def get_stats(ctx: Context, name: Named = "", limit: Leaders = 10) -> ToolResult:
        """The leaderboard (wins, losses and draws per named player, against each level, Mistral and people),
        this connection's own record, and a named player's."""
        stats = service.stats(limit, name, player_of(ctx))
        return ToolResult(content=stats_markdown(stats), structured_content=stats)
