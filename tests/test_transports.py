"""The real entry points, as a user runs them, on 127.0.0.1: one server per transport, stopped afterwards."""

import re
import subprocess
import sys
import urllib.request

import pytest
from fastmcp import Client
from fastmcp.client.transports import StdioTransport

from tests.conftest import TEST_KEY
from tests.fake_mistral import FakeMistral
from tests.servers import ROOT, Served, http, server_env


@pytest.fixture(scope="module")
def server():
    served = Served("mcp_server.py")
    yield served
    served.stop()


async def test_sse_clients_each_play_their_own_room(server):
    async with Client(f"{server.url}/sse") as alice, Client(f"{server.url}/sse") as bob:
        alice_room = (await alice.call_tool("create_room", {})).structured_content["room_id"]
        bob_room = (await bob.call_tool("create_room", {})).structured_content["room_id"]
        alice_move = (await alice.call_tool("make_move", {"position": 4})).structured_content
        assert alice_move["room_id"] == alice_room
        assert alice_move["links"]["play"] == f"{server.url}/rooms/{alice_room}/view"
        assert alice_move["board"][4] == "X"
        assert http("GET", f"{server.url}/rooms/{bob_room}")[1]["moves"] == []
        bob_rooms = (await bob.call_tool("list_rooms", {})).structured_content["rooms"]
        assert [r["room_id"] for r in bob_rooms] == [bob_room]


async def test_rest_and_mcp_share_one_store_of_rooms(server):
    status, created = http("POST", f"{server.url}/rooms", {"difficulty": "hard"})
    assert status == 201
    room_id = created["room_id"]
    async with Client(f"{server.url}/sse") as client:
        state = (await client.call_tool("make_move", {"position": 0, "room_id": room_id})).structured_content
        assert state["board"] == ["X", "", "", "", "O", "", "", "", ""]
        mcp_room = (await client.call_tool("create_room", {})).structured_content["room_id"]
    status, state = http("POST", f"{server.url}/rooms/{mcp_room}/move", {"position": 8})
    assert status == 200
    assert state["board"][8] == "X"
    assert http("GET", f"{server.url}/rooms/{room_id}")[1]["moves"][0] == {"mark": "X", "position": 0, "by": "you"}
    assert [move["via"] for move in http("GET", f"{server.url}/rooms/{room_id}/history")[1]["moves"]] == [
        "mcp",
        "server",
    ]
    mcp_moves = http("GET", f"{server.url}/rooms/{mcp_room}/history")[1]["moves"]
    assert [move["via"] for move in mcp_moves] == ["rest", "server"]  # the MCP room, moved in over REST


async def test_streamable_http_plays_with_an_explicit_room_id(server):
    async with Client(f"{server.url}/mcp") as client:
        room_id = (await client.call_tool("create_room", {})).structured_content["room_id"]
        state = (await client.call_tool("make_move", {"position": 4, "room_id": room_id})).structured_content
        assert state["board"][4] == "X"
        missing = await client.call_tool("make_move", {"position": 0}, raise_on_error=False)
        assert missing.is_error
        assert missing.structured_content["error"]["code"] == "room_id_required"


async def test_stdio_serves_the_tools():
    transport = StdioTransport(
        sys.executable, ["mcp_server.py", "--transport", "stdio"], cwd=str(ROOT), env=server_env()
    )
    async with Client(transport) as client:
        assert {tool.name for tool in await client.list_tools()} >= {"create_room", "make_move"}
        room_id = (await client.call_tool("create_room", {})).structured_content["room_id"]
        state = (await client.call_tool("make_move", {"position": 4, "room_id": room_id})).structured_content
        assert state["moves"][0] == {"mark": "X", "position": 4, "by": "you"}


def test_landing_page_health_and_json_errors(server):
    with urllib.request.urlopen(f"{server.url}/", timeout=10) as response:
        page = response.read().decode()
    assert response.status == 200
    assert f"{server.url}/sse" in page
    status, health = http("GET", f"{server.url}/health")
    assert (status, health["status"], health["opponent"]) == (200, "ok", "O-Bot")
    assert http("GET", f"{server.url}/rooms/nope")[0] == 404


def test_app_py_still_serves_the_rest_api_alone():
    served = Served("app.py")
    try:
        status, created = http("POST", f"{served.url}/rooms")
        assert status == 201
        status, state = http("POST", f"{served.url}/rooms/{created['room_id']}/move", {"position": 4})
        assert (status, state["board"][4]) == (200, "X")
        assert http("GET", f"{served.url}/sse")[0] == 404
    finally:
        served.stop()


async def test_mistral_is_configured_from_the_environment_and_ids_stay_out_of_logs():
    fake = FakeMistral().start()
    mistral = {"MISTRAL_API_KEY": TEST_KEY, "MISTRAL_SERVER_URL": fake.url, "MISTRAL_MODEL": "fake-model"}
    served = Served("mcp_server.py", LOG_LEVEL="debug", **mistral)  # debug: a line for every request
    try:
        async with Client(f"{served.url}/sse") as client:
            room_id = (await client.call_tool("create_room", {})).structured_content["room_id"]
            state = (await client.call_tool("make_move", {"position": 4})).structured_content
        assert state["moves"][-1]["by"] == "mistral"
        assert state["chat"][-1]["text"] == "Fake Mistral moves! 🤖"
        assert fake.requests[-1]["model"] == "fake-model"
        http("GET", f"{served.url}/rooms/{room_id}")
    finally:
        log = served.stop()
        fake.stop()
    assert "GET /rooms/… HTTP/1.1" in log
    assert "POST /messages/?session_id=… HTTP/1.1" in log
    assert room_id not in log
    assert not re.search(r"session_id=[0-9a-f]", log)
    assert TEST_KEY not in log


def test_a_bad_setting_stops_the_server_with_a_clear_message():
    result = subprocess.run(
        [sys.executable, "mcp_server.py"], cwd=ROOT, env=server_env(PORT="http"), capture_output=True, text=True
    )
    assert result.returncode == 1
    assert result.stderr.strip() == "Configuration error: PORT must be a number, got 'http'"
