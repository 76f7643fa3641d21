"""JSON-RPC stays JSON-RPC on both MCP transports, and each client's sessions are bounded: on a real server."""

import asyncio
import contextlib
import json

import httpx2
import pytest

from bench.abuse import INITIALIZE
from tests.servers import Served

ACCEPT = {"Accept": "application/json, text/event-stream", "Content-Type": "application/json"}
IDLE_SECONDS = 3


@pytest.fixture(scope="module")
def server():
    served = Served("mcp_server.py", MAX_SESSIONS_PER_CLIENT="3", RATE_LIMIT_SESSION="0", SESSION_IDLE_MINUTES="0.05")
    yield served
    served.stop()


def client_at(address: str, **kwargs) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.AsyncHTTPTransport(local_address=address), timeout=10, **kwargs)


class SseStream:
    """An open SSE stream of `client`'s, and the path its endpoint event gave for messages."""

    def __init__(self, client: httpx2.AsyncClient, url: str):
        self._stream = client.stream("GET", f"{url}/sse")
        self.endpoint = ""

    async def __aenter__(self):
        self.response = await self._stream.__aenter__()
        self.lines = self.response.aiter_lines()  # kept: a dropped iterator would close the stream
        while not self.endpoint:
            line = await anext(self.lines)
            if line.startswith("data: /messages/"):
                self.endpoint = line.removeprefix("data: ")
        return self

    async def rest(self) -> list[str]:
        """The stream's lines from here to its end."""
        return [line async for line in self.lines]

    async def __aexit__(self, *exc):
        await self._stream.__aexit__(*exc)


TOOL_CALL = b'{"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": {"name": "send_chat", "arguments": %s}}'
NOT_A_MESSAGE = "a message needs a method (or, as a response, an id and a result or an error)."


@pytest.mark.parametrize(
    ("body", "request_id", "code", "message"),
    [
        (b'{"jsonrpc": "2.0", "id": 7, "method":', None, -32700,
         "Parse error: The body is not valid JSON: Expecting value at line 1 column 38."),
        (b'{"jsonrpc": "2.0", "id": 7}', 7, -32600, f"Invalid Request: {NOT_A_MESSAGE}"),
        (b'[{"jsonrpc": "2.0", "id": 7, "method": "ping"}]', None, -32600,
         "Invalid Request: batches are not supported: send one message per request."),
        (b'{"jsonrpc": "1.0", "id": "a", "method": "ping"}', "a", -32600, 'Invalid Request: jsonrpc must be "2.0".'),
        (b'{"jsonrpc": "2.0", "id": null, "method": "ping"}', None, -32600,
         "Invalid Request: id must be a string or a whole number."),
        (TOOL_CALL % b'{"message": "\\ud800"}', 7, -32602,
         "Invalid params: params.arguments.message must be valid Unicode text; it has U+D800."),
        (TOOL_CALL % (b"[" * 40 + b"]" * 40), None, -32700,
         "Parse error: The JSON nests arrays and objects deeper than 32 levels."),
        (b'{"jsonrpc": "2.0", "id": 1' + b"0" * 5000 + b', "method": "ping"}', None, -32700,
         "Parse error: The body holds a number too long to read."),
    ],
)  # fmt: skip
async def test_malformed_input_is_a_json_rpc_error_with_the_request_id_on_both_transports(
    server, body, request_id, code, message
):
    async with client_at("127.0.0.4") as client:
        over_http = await client.post(f"{server.url}/mcp", content=body, headers=ACCEPT)
        async with SseStream(client, server.url) as stream:
            over_sse = await client.post(f"{server.url}{stream.endpoint}", content=body, headers=ACCEPT)
    for response in (over_http, over_sse):
        assert response.status_code == 400
        assert response.json() == {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


@pytest.mark.parametrize(
    ("method", "path", "status", "code"),
    [
        ("POST", "/sse", 405, "method_not_allowed"),
        ("DELETE", "/sse", 405, "method_not_allowed"),
        ("GET", "/messages/", 405, "method_not_allowed"),
        ("POST", "/messages/", 400, "bad_request"),
        ("POST", "/messages/?session_id=0123456789abcdef0123456789abcdef", 404, "session_not_found"),
        ("POST", "/messages/?session_id=nothex", 400, "bad_request"),
    ],
)
async def test_odd_requests_on_mcp_paths_answer_json_like_every_other_route(server, method, path, status, code):
    body = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "ping"}).encode() if method == "POST" else None
    async with client_at("127.0.0.4") as client:
        response = await client.request(method, f"{server.url}{path}", content=body, headers=ACCEPT)
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)


async def test_each_client_holds_its_share_of_streamable_http_sessions(server):
    async with client_at("127.0.0.5") as greedy, client_at("127.0.0.6") as other:
        opened = [await greedy.post(f"{server.url}/mcp", json=INITIALIZE, headers=ACCEPT) for _ in range(3)]
        assert [response.status_code for response in opened] == [200, 200, 200]
        refused = await greedy.post(f"{server.url}/mcp", json=INITIALIZE, headers=ACCEPT)
        assert refused.status_code == 429
        assert refused.json() == {
            "jsonrpc": "2.0",
            "id": 1,
            "error": {
                "code": -32000,
                "message": "You have 3 MCP sessions open, as many as one client may: close one first.",
            },
        }
        assert (await other.post(f"{server.url}/mcp", json=INITIALIZE, headers=ACCEPT)).status_code == 200
        session = opened[0].headers["mcp-session-id"]
        closed = await greedy.delete(f"{server.url}/mcp", headers={**ACCEPT, "Mcp-Session-Id": session})
        assert closed.status_code == 200
        assert (await greedy.post(f"{server.url}/mcp", json=INITIALIZE, headers=ACCEPT)).status_code == 200


async def test_an_initialize_of_the_sessionless_era_is_not_taken_for_a_session(server):
    """That era has no initialize: the library answers it 404 and opens nothing, so a client whose share of sessions
    is full gets that answer, not a refusal for holding too many."""
    meta = {"io.modelcontextprotocol/protocolVersion": "2026-07-28", "io.modelcontextprotocol/clientCapabilities": {}}
    initialize = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"_meta": meta}}
    modern = {**ACCEPT, "MCP-Protocol-Version": "2026-07-28", "Mcp-Method": "initialize"}
    async with client_at("127.0.0.10") as client:
        opened = [await client.post(f"{server.url}/mcp", json=INITIALIZE, headers=ACCEPT) for _ in range(3)]
        answered = await client.post(f"{server.url}/mcp", json=initialize, headers=modern)
    assert [response.status_code for response in opened] == [200, 200, 200]
    assert answered.status_code == 404
    assert answered.json() == {
        "jsonrpc": "2.0",
        "id": 1,
        "error": {"code": -32601, "message": "Method not found", "data": "initialize"},
    }


async def test_idle_streamable_http_sessions_are_closed_and_free_their_place(server):
    async with client_at("127.0.0.7") as client:
        opened = [await client.post(f"{server.url}/mcp", json=INITIALIZE, headers=ACCEPT) for _ in range(3)]
        await asyncio.sleep(IDLE_SECONDS + 1)
        again = await client.post(f"{server.url}/mcp", json=INITIALIZE, headers=ACCEPT)
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        gone = await client.post(
            f"{server.url}/mcp", json=ping, headers={**ACCEPT, "Mcp-Session-Id": opened[0].headers["mcp-session-id"]}
        )
    assert again.status_code == 200
    assert gone.status_code == 404


async def test_a_session_holding_its_get_stream_is_not_idle_and_keeps_its_place(server):
    """The library keeps a session alive while its GET stream is open, however long: so must the count of the
    client's sessions, or a client could hold more than its share by waiting."""
    async with client_at("127.0.0.11") as client, contextlib.AsyncExitStack() as streams:
        opened = [await client.post(f"{server.url}/mcp", json=INITIALIZE, headers=ACCEPT) for _ in range(3)]
        for response in opened:
            session = {**ACCEPT, "Mcp-Session-Id": response.headers["mcp-session-id"]}
            stream = await streams.enter_async_context(client.stream("GET", f"{server.url}/mcp", headers=session))
            assert stream.status_code == 200
        await asyncio.sleep(IDLE_SECONDS + 1)
        refused = await client.post(f"{server.url}/mcp", json=INITIALIZE, headers=ACCEPT)
        ping = {"jsonrpc": "2.0", "id": 2, "method": "ping"}
        alive = await client.post(
            f"{server.url}/mcp", json=ping, headers={**ACCEPT, "Mcp-Session-Id": opened[0].headers["mcp-session-id"]}
        )
    assert alive.status_code == 200
    assert refused.status_code == 429
    assert refused.json()["error"]["message"] == (
        "You have 3 MCP sessions open, as many as one client may: close one first."
    )


async def test_each_client_holds_its_share_of_sse_streams_and_idle_ones_are_closed(server):
    async with client_at("127.0.0.8") as client:
        streams = [await SseStream(client, server.url).__aenter__() for _ in range(3)]
        refused = await client.get(f"{server.url}/sse")
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == -32000
        started = asyncio.get_running_loop().time()
        await asyncio.wait_for(streams[0].rest(), IDLE_SECONDS + 3)  # nothing was posted: idle, so it ends
        assert asyncio.get_running_loop().time() - started > IDLE_SECONDS - 1
        for stream in streams:
            await stream.__aexit__(None, None, None)
        async with SseStream(client, server.url) as stream:  # the closed streams freed their places
            assert stream.endpoint.startswith("/messages/?session_id=")


async def test_an_sse_session_in_use_stays_open_past_the_idle_time(server):
    async with client_at("127.0.0.9") as client, SseStream(client, server.url) as stream:
        url = f"{server.url}{stream.endpoint}"
        assert (await client.post(url, json=INITIALIZE, headers=ACCEPT)).status_code == 202
        for number in range(2, 2 + 2 * IDLE_SECONDS):
            await asyncio.sleep(0.5)
            ping = {"jsonrpc": "2.0", "id": number, "method": "ping"}
            assert (await client.post(url, json=ping, headers=ACCEPT)).status_code == 202
