"""The tools that look back: a game's history, and the scores."""

from __future__ import annotations

from fastmcp import Context, FastMCP
from fastmcp.tools import ToolResult

from tictactoe.doors.arguments import Leaders, Named
from tictactoe.doors.markdown import history_markdown, stats_markdown
from tictactoe.doors.mcp.common import READ, PlayerToken, RoomId, refusing_game_errors, result, tool
from tictactoe.doors.mcp.connections import Connections
from tictactoe.doors.schemas import schema_of
from tictactoe.state.answers import History, Stats


def add_record_tools(mcp: FastMCP, connections: Connections) -> None:
    """Register get_game_history and get_stats on `mcp`."""

    @tool(mcp, annotations=READ, output_schema=schema_of(History))
    @refusing_game_errors
    async def get_game_history(ctx: Context, room_id: RoomId = "", player_token: PlayerToken = "") -> ToolResult:
        """A game from its first move: each move with who made it, where from (mcp, rest, page or server) and when,
        and the board after it; the players; the chat."""
        room, token = connections.room_and_token(ctx, room_id, player_token)
        history = room.history(room.mark_of(token))
        return result(history_markdown(history), history)

    @tool(mcp, annotations=READ, output_schema=schema_of(Stats))
    @refusing_game_errors
    async def get_stats(ctx: Context, name: Named = "", limit: Leaders = 10) -> ToolResult:
        """The leaderboard (wins, losses and draws per named player, against each level, Mistral and people), this
        connection's own record, and a named player's."""
        stats = connections.service.stats(limit, name, connections.player_of(ctx))
        return result(stats_markdown(stats), stats)
