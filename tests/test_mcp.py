import logging
import math
import random

import pytest
from fastmcp import Client
from fastmcp.tools import FunctionTool, ToolResult
from mcp import MCPError

from tests.test_rules import board_of
from tictactoe.doors.markdown import escaped, room_markdown
from tictactoe.doors.mcp import common
from tictactoe.doors.mcp.tools import build_mcp
from tictactoe.game.lines import LINES
from tictactoe.players.opponent import Opponent
from tictactoe.services.games import GameService
from tictactoe.services.limits import RateLimiter

TOOLS = {"create_room", "make_move", "send_chat", "get_room_state", "list_rooms", "get_help"}
PEOPLE_TOOLS = {"enter_queue", "leave_queue", "join_room", "wait_for_turn", "leave_chat"}
RECORD_TOOLS = {"get_game_history", "get_stats"}


async def call(client, tool, **arguments):
    return await client.call_tool(tool, arguments, raise_on_error=False)


async def test_the_tools_with_plain_schemas(mcp):
    tools = {tool.name: tool for tool in await mcp.list_tools()}
    assert set(tools) == TOOLS | PEOPLE_TOOLS | RECORD_TOOLS
    make_move = tools["make_move"].input_schema
    assert make_move["required"] == ["position"]
    assert make_move["properties"]["position"]["type"] == "integer"
    assert (make_move["properties"]["position"]["minimum"], make_move["properties"]["position"]["maximum"]) == (0, 8)
    for tool in tools.values():  # no anyOf: the Mistral API has refused such shapes in tool schemas
        assert "anyOf" not in str(tool.input_schema)
        assert tool.description


async def test_create_room_answers_markdown_and_structured_content(mcp):
    result = await call(mcp, "create_room")
    state = result.structured_content
    assert not result.is_error
    assert result.content[0].text == room_markdown(state)
    assert state["status"] == "your_turn"
    assert state["legal_moves"] == list(range(9))
    assert state["next_step"] == "Your move: play one of the legal_moves (make_move)."
    assert " 0 │ 1 │ 2" in result.content[0].text


async def test_make_move_plays_the_turn_in_one_call(mcp):
    room_id = (await call(mcp, "create_room", difficulty="hard")).structured_content["room_id"]
    result = await call(mcp, "make_move", position=0, room_id=room_id)
    state = result.structured_content
    assert state["board"] == ["X", "", "", "", "O", "", "", "", ""]
    assert state["last_turn"] == {"you": 0, "opponent": 4}
    assert state["turn"] == "X"
    assert state["chat"][-1]["text"] in LINES["opening"]
    assert result.content[0].text.startswith("You played **0**. O-Bot answered **4**.")
    assert " X │ 1 │ 2" in result.content[0].text


async def test_omitted_room_id_uses_the_current_room(mcp):
    room_id = (await call(mcp, "create_room")).structured_content["room_id"]
    state = (await call(mcp, "make_move", position=4)).structured_content
    assert state["room_id"] == room_id
    assert (await call(mcp, "get_room_state")).structured_content == {
        k: v for k, v in state.items() if k != "last_turn"
    }


async def test_send_chat_answers_in_character(mcp):
    await call(mcp, "create_room")
    state = (await call(mcp, "send_chat", message="You're going down")).structured_content
    assert state["chat"][-2]["text"] == "You're going down"
    assert state["chat"][-1]["text"] in LINES["chat"]


def error_of(result) -> tuple[str, str]:
    assert result.is_error
    error = result.structured_content["error"]
    assert result.content[0].text.startswith(f"Error ({error['code']}): {escaped(error['message'])}")
    return error["code"], error["message"]


async def test_occupied_cell_is_a_tool_error_with_the_board(mcp):
    await call(mcp, "create_room", difficulty="hard")
    await call(mcp, "make_move", position=0)
    result = await call(mcp, "make_move", position=4)
    assert error_of(result) == ("cell_occupied", "Cell 4 is taken by O. Pick a free cell: 1, 2, 3, 5, 6, 7, 8.")
    assert " X │ 1 │ 2" in result.content[0].text
    assert result.structured_content["room"]["board"][4] == "O"


@pytest.mark.parametrize(("position", "shown"), [(9, "9"), (-1, "-1"), (4.5, "4.5"), ("4", '"4"'), (True, "true")])
async def test_positions_that_are_not_cells_are_tool_errors_with_the_board(mcp, position, shown):
    await call(mcp, "create_room")
    result = await call(mcp, "make_move", position=position)
    assert error_of(result) == ("invalid_position", f"position must be a whole number from 0 to 8, got {shown}.")
    assert " 0 │ 1 │ 2" in result.content[0].text
    assert result.structured_content["room"]["moves"] == []


async def test_move_after_game_over_is_a_tool_error(mcp, service):
    room_id = (await call(mcp, "create_room")).structured_content["room_id"]
    service.room(room_id).board = board_of("XXXOO....")
    assert error_of(await call(mcp, "make_move", position=8))[0] == "game_over"


async def test_unknown_room_is_a_tool_error(mcp):
    code, message = error_of(await call(mcp, "get_room_state", room_id="nope"))
    assert (code, message) == (
        "room_not_found",
        (
            "No room 'nope': rooms are deleted 60 minutes after their last move or message. "
            "Check the id, or start a new game with create_room."
        ),
    )


async def test_no_current_room_says_to_create_one(mcp):
    code, message = error_of(await call(mcp, "make_move", position=4))
    assert code == "room_id_required"
    assert message == "There is no current room on this connection: call create_room first, or pass room_id."


@pytest.mark.parametrize(
    ("tool", "arguments", "code"),
    [
        ("send_chat", {"message": ""}, "invalid_request"),
        ("send_chat", {"message": 5}, "invalid_request"),
        ("create_room", {"difficulty": "expert"}, "invalid_request"),
        ("make_move", {"position": 1, "extra": 2}, "invalid_request"),
        ("make_move", {}, "invalid_position"),
        ("get_room_state", {"room_id": "x" * 65}, "invalid_request"),
    ],
)
async def test_bad_arguments_are_coded_tool_errors(mcp, tool, arguments, code):
    await call(mcp, "create_room")
    assert error_of(await call(mcp, tool, **arguments))[0] == code


async def test_each_connection_has_its_own_current_room_and_list(service):
    server = build_mcp(service)
    async with Client(server, mode="legacy") as alice, Client(server, mode="legacy") as bob:
        alice_room = (await call(alice, "create_room")).structured_content["room_id"]
        bob_room = (await call(bob, "create_room")).structured_content["room_id"]
        assert (await call(alice, "make_move", position=4)).structured_content["room_id"] == alice_room
        assert service.room(bob_room).moves == []
        listed = (await call(bob, "list_rooms")).structured_content
        assert listed == {
            "rooms": [{"room_id": bob_room, "status": "your_turn", "moves": 0, "current": True}],
            "current_room": bob_room,
        }


async def test_list_rooms_shows_rooms_created_or_played_newest_first(mcp, service):
    first = (await call(mcp, "create_room")).structured_content["room_id"]
    second = (await call(mcp, "create_room")).structured_content["room_id"]
    elsewhere = service.create_room().id  # someone else's room, not listed until this connection plays it
    assert [r["room_id"] for r in (await call(mcp, "list_rooms")).structured_content["rooms"]] == [second, first]
    await call(mcp, "make_move", position=4, room_id=elsewhere)
    result = await call(mcp, "list_rooms")
    assert [r["room_id"] for r in result.structured_content["rooms"]] == [elsewhere, second, first]
    assert result.structured_content["current_room"] == elsewhere
    assert f"- `{elsewhere}`: your_turn, 2 moves (current)" in result.content[0].text


async def test_sessionless_connections_are_told_to_pass_room_id(service):
    async with Client(build_mcp(service)) as client:  # 2026-07-28: no session between calls
        room_id = (await call(client, "create_room")).structured_content["room_id"]
        code, message = error_of(await call(client, "make_move", position=4))
        assert code == "room_id_required"
        assert message.startswith("This connection keeps no session between calls, so pass room_id")
        assert error_of(await call(client, "list_rooms"))[0] == "room_id_required"
        assert (await call(client, "make_move", position=4, room_id=room_id)).structured_content["board"][4] == "X"


async def test_get_help_explains_the_board_and_tools(mcp):
    result = await call(mcp, "get_help")
    assert set(result.structured_content["tools"]) == TOOLS | PEOPLE_TOOLS | RECORD_TOOLS
    assert result.structured_content["board"] == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert "Against the opponent you are X and move first" in result.content[0].text


async def test_create_room_states_the_retention_policy(mcp, service):
    tools = {tool.name: tool for tool in await mcp.list_tools()}
    restarts = "" if service.rooms.durable else ", and when the server restarts"
    assert tools["create_room"].description == (
        'Start a tic-tac-toe game. Against the opponent (opponent "ai", the default) the user is X, moves first, and '
        'the opponent answers each move in the same call. With opponent "human" it is a room for two people: the user '
        "takes a seat (X or O by lot; X moves first), shares the room_id, and keeps the player_token it returns. "
        f"A room is deleted 60 minutes after its last move or message{restarts}; "
        "the server holds at most 10000 rooms at once. Give a name to appear on the leaderboard."
    )


async def test_rate_limits_are_tool_errors_with_retry_after():
    service = GameService(Opponent(None, random.Random(7)), limiter=RateLimiter({"create": 1}))
    async with Client(build_mcp(service), mode="legacy") as client:
        assert not (await call(client, "create_room")).is_error
        refused = await call(client, "create_room")
    assert refused.is_error
    assert refused.structured_content == {
        "error": {
            "code": "rate_limited",
            "message": "Too many create requests: the limit is 1 a minute. Try again in 60 s.",
            "retry_after": 60,
        }
    }
    assert refused.content[0].text == (
        "Error (rate_limited): Too many create requests: the limit is 1 a minute. Try again in 60 s."
    )


async def test_a_move_on_an_old_version_is_a_stale_version_error(mcp):
    room = (await call(mcp, "create_room")).structured_content
    played = await call(mcp, "make_move", position=4, expected_version=room["version"])
    assert not played.is_error
    stale = await call(mcp, "make_move", position=0, expected_version=room["version"])
    assert stale.is_error
    assert stale.structured_content["error"]["code"] == "stale_version"
    assert stale.structured_content["room"]["board"] == played.structured_content["board"]


async def test_replies_carry_the_pages_paths_where_the_server_address_is_unknown(mcp):
    result = await call(mcp, "create_room")
    state = result.structured_content
    assert state["links"]["play"] == f"/rooms/{state['room_id']}/view"
    assert state["links"]["watch"].startswith("/watch/")
    assert "Live board" not in result.content[0].text  # a path alone is no link a chat can open


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_a_room_that_is_not_there_is_an_unknown_resource(service, mode, caplog):
    """A client reading a room that expired made the mistake, not the server: the error is the one for any URI that
    names nothing (SEP-2164), not an internal error logged as a bug."""
    async with Client(build_mcp(service), mode=mode) as client:
        with pytest.raises(MCPError) as missing_room, caplog.at_level(logging.INFO):
            await client.read_resource("tictactoe://rooms/gone")
        with pytest.raises(MCPError) as unknown_uri:
            await client.read_resource("tictactoe://nothing")
    error = missing_room.value.error
    assert (error.code, error.message, error.data) == (
        -32602,
        "Resource not found: 'tictactoe://rooms/gone'",
        {"uri": "tictactoe://rooms/gone"},
    )
    assert unknown_uri.value.error.code == error.code
    assert [record.getMessage() for record in caplog.records if record.levelno >= logging.WARNING] == []


def made_of_json(value: object) -> bool:
    """Whether `value` is built of JSON's own types alone: objects with string keys, arrays, strings, finite
    numbers, booleans, null."""
    if isinstance(value, dict):
        return all(isinstance(key, str) and made_of_json(item) for key, item in value.items())
    if isinstance(value, list):
        return all(made_of_json(item) for item in value)
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, str | int)


async def test_every_answer_is_built_of_jsons_own_types(mcp, monkeypatch):
    """Results are taken as they are (common.result), without fastmcp's round trip through JSON: so each must be
    JSON already, refusals and every tool's answer alike."""
    built = []

    class Recorded(ToolResult):
        @classmethod
        def model_construct(cls, **fields) -> ToolResult:
            built.append(fields["structured_content"])
            return ToolResult.model_construct(**fields)

    monkeypatch.setattr(common, "ToolResult", Recorded)
    room = (await call(mcp, "create_room")).structured_content
    await call(mcp, "make_move", position=4)
    await call(mcp, "make_move", position=4)  # refused: the cell is taken, and the board comes with the refusal
    for tool in ("send_chat", "get_room_state", "get_game_history"):
        await call(mcp, tool, **({"message": "Hi"} if tool == "send_chat" else {}))
    for tool in ("list_rooms", "get_help", "get_stats", "enter_queue", "leave_queue"):
        await call(mcp, tool)
    await call(mcp, "create_room", opponent="human")
    assert len(built) == 12 and room == built[0]
    assert all(made_of_json(data) for data in built)


async def test_each_tool_is_looked_up_in_the_providers_once_and_a_tool_added_later_is_found(service, monkeypatch):
    server = build_mcp(service)
    asked = []
    provider = server.providers[0]
    looked_up = type(provider).get_tool

    async def counted(self, name, version=None):
        asked.append(name)
        return await looked_up(self, name, version)

    monkeypatch.setattr(type(provider), "get_tool", counted)
    async with Client(server, mode="legacy") as client:
        for _ in range(3):
            await call(client, "get_help")
        assert asked == ["get_help"]
        assert (await call(client, "no_such_tool")).is_error  # not found: asked again each time, never kept
        assert (await call(client, "no_such_tool")).is_error
        server.add_tool(FunctionTool.from_function(lambda: "here", name="added_later"))
        assert (await call(client, "added_later")).content[0].text == "here"
        assert (await call(client, "get_help")).structured_content["board"] == [[0, 1, 2], [3, 4, 5], [6, 7, 8]]
    assert asked == ["get_help", "no_such_tool", "no_such_tool", "added_later", "get_help"]
