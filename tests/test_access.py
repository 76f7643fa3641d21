"""Access and abuse limits on the real server, as a connector or a browser meets them, on 127.0.0.1."""

import json
import urllib.error
import urllib.request
from email.message import Message

import httpx2
import pytest
from fastmcp import Client
from fastmcp.client.transports import SSETransport

from tests.conftest import TEST_KEY
from tests.fake_mistral import FakeMistral, Reply
from tests.servers import ROOT, Served, http

TOKEN = "lechat-api-token-1234"


def request(method: str, url: str, headers: dict[str, str], body: dict | None = None) -> tuple[int, Message, dict]:
    """One HTTP call; the answer's status, its headers (names in any case) and its JSON body."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as response:
            return response.status, response.headers, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers, json.loads(error.read())


@pytest.fixture(scope="module")
def guarded():
    served = Served("mcp_server.py", MCP_AUTH_TOKEN=TOKEN, SPACE_HOST="me-tictactoe.hf.space")
    yield served
    served.stop()


@pytest.mark.parametrize("path", ["/sse", "/mcp"])
async def test_mcp_plays_with_the_token(guarded, path):
    async with Client(f"{guarded.url}{path}", auth=TOKEN) as client:
        room_id = (await client.call_tool("create_room", {})).structured_content["room_id"]
        state = (await client.call_tool("make_move", {"position": 4, "room_id": room_id})).structured_content
    assert state["board"][4] == "X"


async def test_mcp_without_the_token_is_401(guarded):
    with pytest.raises(httpx2.HTTPStatusError) as refused:
        async with Client(f"{guarded.url}/sse") as client:
            await client.list_tools()
    assert refused.value.response.status_code == 401
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {}}
    status, headers, body = request("POST", f"{guarded.url}/mcp", {"Content-Type": "application/json"}, initialize)
    assert (status, body["error"]["code"]) == (401, "unauthorized")


def test_rest_writes_need_the_token_and_reads_do_not(guarded):
    status, headers, body = request("POST", f"{guarded.url}/rooms", {})
    assert (status, body["error"]["code"]) == (401, "unauthorized")
    assert headers["WWW-Authenticate"] == 'Bearer realm="tictactoe"'
    status, _, room = request("POST", f"{guarded.url}/rooms", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 201
    assert http("GET", f"{guarded.url}/rooms/{room['room_id']}")[0] == 200
    assert http("GET", f"{guarded.url}/health")[0] == 200


def test_the_space_host_is_served_and_a_foreign_origin_is_403(guarded):
    assert request("GET", f"{guarded.url}/health", {"Host": "me-tictactoe.hf.space"})[0] == 200
    status, _, body = request("GET", f"{guarded.url}/health", {"Host": "rebound.evil.example"})
    assert (status, body["error"]["code"]) == (421, "host_not_allowed")
    auth = {"Authorization": f"Bearer {TOKEN}"}
    status, _, body = request("POST", f"{guarded.url}/rooms", {**auth, "Origin": "https://evil.example"})
    assert (status, body["error"]["code"]) == (403, "origin_not_allowed")
    assert request("POST", f"{guarded.url}/rooms", {**auth, "Origin": "https://me-tictactoe.hf.space"})[0] == 403
    host = {"Host": "me-tictactoe.hf.space", "Origin": "https://me-tictactoe.hf.space"}
    assert request("POST", f"{guarded.url}/rooms", {**auth, **host})[0] == 201  # the page on the Space itself


async def test_rate_limits_hold_per_client_over_sse_and_rest():
    served = Served("mcp_server.py", RATE_LIMIT_CREATE="2", TRUSTED_PROXIES="1")
    try:
        alice = SSETransport(f"{served.url}/sse", headers={"X-Forwarded-For": "198.51.100.1"})
        bob = SSETransport(f"{served.url}/sse", headers={"X-Forwarded-For": "198.51.100.2"})
        async with Client(alice) as a, Client(bob) as b:
            assert not (await a.call_tool("create_room", {})).is_error
            assert not (await a.call_tool("create_room", {})).is_error
            refused = await a.call_tool("create_room", {}, raise_on_error=False)
            assert not (await b.call_tool("create_room", {})).is_error
        assert refused.is_error
        assert refused.structured_content["error"]["code"] == "rate_limited"
        assert refused.structured_content["error"]["retry_after"] == 60  # when the first of the two leaves the minute
        status, headers, body = request("POST", f"{served.url}/rooms", {"X-Forwarded-For": "198.51.100.1"})
        assert (status, headers["Retry-After"], body["error"]["code"]) == (429, "60", "rate_limited")
        assert request("POST", f"{served.url}/rooms", {"X-Forwarded-For": "198.51.100.3"})[0] == 201
    finally:
        served.stop()


async def test_nothing_internal_reaches_a_client_or_the_log():
    fake = FakeMistral().start()
    fake.script(*[Reply(status=401, body=json.dumps({"detail": f"bad key {TEST_KEY}"}).encode())] * 3)
    served = Served("mcp_server.py", MISTRAL_API_KEY=TEST_KEY, MISTRAL_SERVER_URL=fake.url, MISTRAL_TIMEOUT="2")
    answers = []
    try:
        async with Client(f"{served.url}/sse") as client:
            room_id = (await client.call_tool("create_room", {})).structured_content["room_id"]
            for arguments in [{"position": 4}, {"position": 9}, {"position": "4"}, {"room_id": "x" * 65}, {}]:
                result = await client.call_tool("make_move", arguments, raise_on_error=False)
                answers.append(result.content[0].text)
            answers.append((await client.call_tool("send_chat", {"message": "{{7*7}} %s %n"})).content[0].text)
        for method, path, body in [
            ("POST", "/rooms", b"{"),
            ("POST", f"/rooms/{room_id}/move", b'{"position": [1e999]}'),
            ("POST", f"/rooms/{room_id}/chat", b"\xff\xfe"),
            ("DELETE", f"/rooms/{room_id}", b""),
            ("GET", "/../../etc/passwd", b""),
        ]:
            req = urllib.request.Request(f"{served.url}{path}", data=body or None, method=method)
            try:
                urllib.request.urlopen(req, timeout=10).read()
            except urllib.error.HTTPError as error:
                assert error.code < 500
                answers.append(error.read().decode())
    finally:
        log = served.stop()
        fake.stop()
    for text in [log, *answers]:
        for secret in (TEST_KEY, "Traceback", str(ROOT), "site-packages", 'File "'):
            assert secret not in text
