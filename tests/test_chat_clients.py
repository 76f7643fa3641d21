"""Every kind of chat client plays well: new-protocol clients keep their current room on SSE and stdio, a text-only
host finds what its next call needs in the text, and the tools say what they do in words a model can trust."""

import json
import re
import sys

import pytest
from fastmcp import Client as FastClient
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters

from tests.servers import ROOT, Served, server_env
from tictactoe import __version__
from tictactoe.doors.mcp.tools import build_mcp


@pytest.fixture(scope="module")
def server():
    served = Served("mcp_server.py")
    yield served
    served.stop()


def text_of(result) -> str:
    return result.content[0].text


def stdio_server() -> StdioServerParameters:
    return StdioServerParameters(
        command=sys.executable, args=["mcp_server.py", "--transport", "stdio"], cwd=str(ROOT), env=server_env()
    )


@pytest.mark.parametrize("transport", ["sse", "stdio"])
async def test_a_2026_client_keeps_its_current_room_over_sse_and_stdio(server, transport):
    connection = sse_client(f"{server.url}/sse") if transport == "sse" else stdio_server()
    async with Client(connection) as client:  # the Python SDK's default: the sessionless 2026-07-28 revision
        assert client.protocol_version == "2026-07-28"
        room = (await client.call_tool("create_room", {"difficulty": "hard"})).structured_content
        moved = (await client.call_tool("make_move", {"position": 0})).structured_content
        assert (moved["room_id"], moved["board"][0]) == (room["room_id"], "X")
        listed = (await client.call_tool("list_rooms", {})).structured_content
        assert listed == {"rooms": [{"room_id": room["room_id"], "status": moved["status"], "moves": 2,
                                     "current": True}], "current_room": room["room_id"]}  # fmt: skip


async def test_a_2026_client_keeps_its_seat_over_sse(server):
    async with Client(sse_client(f"{server.url}/sse")) as ann, Client(sse_client(f"{server.url}/sse")) as ben:
        made = (await ann.call_tool("create_room", {"opponent": "human"})).structured_content
        await ben.call_tool("join_room", {"room_id": made["room_id"]})
        first = ann if made["your_mark"] == "X" else ben
        moved = await first.call_tool("make_move", {"position": 4})  # no room_id, no player_token: the stream's
        assert not moved.is_error, text_of(moved)
        assert moved.structured_content["board"][4] == "X"


async def test_over_sessionless_http_room_id_is_needed_and_said_so(server):
    async with Client(f"{server.url}/mcp") as client:
        await client.call_tool("create_room", {})
        missing = await client.call_tool("make_move", {"position": 4})
        assert missing.is_error
        assert missing.structured_content["error"]["code"] == "room_id_required"


async def test_the_text_carries_what_the_next_call_needs(service):
    async with FastClient(build_mcp(service)) as client:  # sessionless: only what the text says is kept
        room = await client.call_tool("create_room", {"difficulty": "hard"})
        state = room.structured_content
        assert f"room `{state['room_id']}`" in text_of(room)
        assert text_of(room).endswith(f"(room_id `{state['room_id']}`; version {state['version']})")
        assert "Free cells: 0, 1, 2, 3, 4, 5, 6, 7, 8" in text_of(room)
        invited = await client.call_tool("create_room", {"opponent": "human"})
        token = invited.structured_content["player_token"]
        assert f"your player_token `{token}` (your seat: pass it on, keep it secret)" in text_of(invited)
        waiting = await client.call_tool("enter_queue", {})
        ticket = waiting.structured_content["ticket"]
        assert text_of(waiting) == (
            f"Waiting for a partner: you are number 1 in the queue. Call enter_queue again with ticket `{ticket}` "
            "within 5 minutes, or your place is given up."
        )


async def test_waiting_and_leaving_in_a_game_against_the_opponent_say_what_they_mean(mcp):
    await mcp.call_tool("create_room", {"difficulty": "hard"})
    waited = (await mcp.call_tool("wait_for_turn", {"timeout_seconds": 5})).structured_content
    assert (waited["event"], waited["status"]) == ("your_turn", "your_turn")
    left = await mcp.call_tool("leave_chat", {}, raise_on_error=False)
    assert left.structured_content["error"] == {
        "code": "no_seats",
        "message": "Leaving is for games between two people: against the opponent, just stop, or start another "
        "game with create_room.",
    }


async def test_an_argument_error_shows_a_board_only_for_a_tool_about_the_room(mcp):
    await mcp.call_tool("create_room", {})
    unrelated = await mcp.call_tool("get_stats", {"limit": 0}, raise_on_error=False)
    assert unrelated.is_error and "room" not in unrelated.structured_content
    about_it = await mcp.call_tool("make_move", {"position": 9}, raise_on_error=False)
    assert about_it.structured_content["room"]["board"] == [""] * 9
    missing = await mcp.call_tool("make_move", {}, raise_on_error=False)
    assert missing.structured_content["error"] == {
        "code": "invalid_position",
        "message": "position is required: the cell to play, a whole number from 0 to 8.",
    }


async def test_the_tools_describe_themselves_plainly_and_leanly(mcp):
    assert mcp.initialize_result.server_info.version == __version__
    tools = {tool.name: tool for tool in await mcp.list_tools()}
    assert [name for name, tool in tools.items() if "fastmcp" in (tool.meta or {})] == []
    assert [name for name, tool in tools.items() if "\n" in tool.description] == []
    undescribed = [
        f"{name}.{parameter}"
        for name, tool in tools.items()
        for parameter, schema in tool.input_schema.get("properties", {}).items()
        if not schema.get("description")
    ]
    assert undescribed == []
    properties = {name: tool.input_schema.get("properties", {}) for name, tool in tools.items()}
    assert properties["create_room"]["difficulty"]["enum"] == ["", "easy", "medium", "hard"]
    assert properties["create_room"]["opponent"]["enum"] == ["ai", "human"]
    assert properties["send_chat"]["message"]["maxLength"] == 500
    assert "you are X" not in tools["create_room"].description.split(".")[0]  # not so in a room for two
    size = sum(len(tool.description) + len(json.dumps(tool.input_schema)) for tool in tools.values())
    assert size < 8000
    assert not re.search(r"\bto ask again\b", json.dumps(properties["leave_queue"]))
