"""The MCP tools: thin adapters over the game service, each answering Markdown plus structured content."""

from __future__ import annotations

from typing import Annotated, Literal

from fastmcp import Context, FastMCP
from fastmcp.exceptions import ValidationError
from fastmcp.server.middleware import Middleware
from fastmcp.tools import ToolResult
from key_value.aio.stores.memory import MemoryStore
from pydantic import Field
from pydantic import ValidationError as ArgumentError

from tictactoe.doors.markdown import board_markdown, history_markdown, stats_markdown
from tictactoe.doors.mcp.common import (
    PLAY,
    READ,
    RoomId,
    answer,
    client_of,
    has_session,
    player_of,
    refusal,
    refusing_game_errors,
    remember,
    target_room,
)
from tictactoe.doors.mcp.people import Name, PlayerToken, add_people_tools, remember_seat, room_and_token, seat_token
from tictactoe.game.errors import GameError, InvalidPosition, InvalidRequest, RoomNotFound, RoomRequired
from tictactoe.game.rules import as_json
from tictactoe.services.games import GameService
from tictactoe.services.people import valid_name
from tictactoe.state.scores import LEADERS_MOST
from tictactoe.state.seats import Player

INSTRUCTIONS = (
    "Tic-tac-toe against a trash-talking opponent. Call create_room to start (it returns a room_id), "
    "then make_move with a position 0-8 (left to right, top to bottom): one call plays your move and the "
    "opponent's reply. Show the user the Markdown board you get back. Pass room_id on every call when you have it. "
    "To play another person: enter_queue (a stranger), or create_room with opponent 'human' and share the room_id "
    "(they call join_room); then make_move on your turn and wait_for_turn for theirs. get_game_history replays a "
    "game move by move; get_stats shows the leaderboard and the user's record."
)
STATE_ENTRIES = 20_000  # session-state entries (two per connection); the least recently used go first
CREATE_ROOM = "Start a new tic-tac-toe game; the user is X and moves first. Returns the room_id to pass to later calls."

Difficulty = Annotated[
    str, Field(max_length=16, description="easy, medium or hard: the built-in engine plays. Omit for the default.")
]
Opponent = Annotated[
    Literal["ai", "human"],
    Field(description='"ai" (default): play the opponent. "human": a room for two people; share its room_id.'),
]
Position = Annotated[int, Field(ge=0, le=8, description="Cell 0-8: 0 1 2 top row, 3 4 5 middle, 6 7 8 bottom.")]
ExpectedVersion = Annotated[
    int,
    Field(ge=0, description="The room's version you chose the move on; the move is refused if it changed. 0: any."),
]


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

    restarts = "" if service.rooms.durable else ", and when the server restarts"
    retention = (
        f"A room is deleted {service.rooms.ttl / 60:g} minutes after its last move or message{restarts}; "
        f"the server holds at most {service.rooms.capacity} rooms at once. Give a name to appear on the leaderboard."
    )

    @mcp.tool(annotations=PLAY, description=f"{CREATE_ROOM}\n\n{retention}")
    @refusing_game_errors
    async def create_room(
        ctx: Context, difficulty: Difficulty = "", opponent: Opponent = "ai", name: Name = ""
    ) -> ToolResult:
        if opponent == "human":
            seated = service.people.open_room(name, client_of(ctx), player_of(ctx))
            await remember_seat(ctx, service, seated.room.id, seated.seat.token)
            return answer(ctx, seated.to_dict())
        player = Player(player_of(ctx), valid_name(name))
        room = service.create_room(difficulty or None, client=client_of(ctx), player=player)
        await remember(ctx, room.id)
        return answer(ctx, room.to_dict())

    @mcp.tool(annotations=PLAY)
    @refusing_game_errors
    async def make_move(
        ctx: Context,
        position: Position,
        room_id: RoomId = "",
        expected_version: ExpectedVersion = 0,
        player_token: PlayerToken = "",
    ) -> ToolResult:
        """Play the user's mark at `position`; against the opponent, it replies in the same call with a line of
        trash talk; against a person, they are told at once.

        Returns the new board, whose turn it is, the status and the legal moves.
        """
        room, token = await room_and_token(ctx, service, room_id, player_token)
        version = expected_version or None
        turn = await service.play(
            room.id, position, client=client_of(ctx), expected_version=version, token=token, via="mcp"
        )
        await remember(ctx, room.id)
        return answer(ctx, turn.to_dict())

    @mcp.tool(annotations=PLAY)
    @refusing_game_errors
    async def send_chat(
        ctx: Context,
        message: Annotated[str, Field(description="What the user says to the opponent (1-500 characters).")],
        room_id: RoomId = "",
        player_token: PlayerToken = "",
    ) -> ToolResult:
        """Say something to the opponent, who answers in character, or to the other player, who is told at once.

        Chat never changes the board.
        """
        room, token = await room_and_token(ctx, service, room_id, player_token)
        seen = await service.chat(room.id, message, client=client_of(ctx), token=token, via="mcp")
        await remember(ctx, room.id)
        return answer(ctx, seen.to_dict())

    @mcp.tool(annotations=READ)
    @refusing_game_errors
    async def get_room_state(ctx: Context, room_id: RoomId = "", player_token: PlayerToken = "") -> ToolResult:
        """Show a room: the board, whose turn, the status, the legal moves and the latest chat."""
        room = service.room(await target_room(ctx, room_id))
        await remember(ctx, room.id)
        token = await seat_token(ctx, service, room, player_token)
        return answer(ctx, room.seen_by(token))  # in a game for two without a seat: a spectator's view

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
        seats = await ctx.get_state("seats") or {}
        summaries = []
        for room_id in await ctx.get_state("rooms") or []:
            try:
                state = service.room(room_id).seen_by(seats.get(room_id))  # a game for two: from your seat
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
    @refusing_game_errors
    async def get_game_history(ctx: Context, room_id: RoomId = "", player_token: PlayerToken = "") -> ToolResult:
        """A game from its first move: every move in order with who made it, where it came from (mcp, rest, page
        or the server's opponent) and when, the board after each move (to replay it), and the chat."""
        room, token = await room_and_token(ctx, service, room_id, player_token)
        history = room.history(room.mark_of(token))
        return ToolResult(content=history_markdown(history), structured_content=history)

    @mcp.tool(annotations=READ)
    @refusing_game_errors
    async def get_stats(
        ctx: Context,
        name: Annotated[str, Field(max_length=40, description="A player's name, for their record. Optional.")] = "",
        limit: Annotated[int, Field(ge=1, le=LEADERS_MOST, description="Names on the leaderboard.")] = 10,
    ) -> ToolResult:
        """The leaderboard (wins, losses and draws per named player, against each level, Mistral and people),
        this connection's own record, and a named player's."""
        stats = service.stats(limit, name, player_of(ctx))
        return ToolResult(content=stats_markdown(stats), structured_content=stats)

    add_people_tools(mcp, service)

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
