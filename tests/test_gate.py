"""The gate in front of every route: Host and Origin checks, the bearer token, CORS, body size, trusted proxies."""

import asyncio
import json

import httpx2
import pytest
from starlette.requests import Request
from starlette.responses import JSONResponse

from tictactoe.serving.config import load_settings
from tictactoe.serving.gate import BODY_LIMIT, Gate, Policy

TOKEN = "s3cret-token"


async def echo(scope, receive, send):
    """What the app behind the gate saw: the client, the scheme and the body's size."""
    request = Request(scope, receive)
    body = await request.body()
    answer = {"client": request.client.host, "scheme": request.url.scheme, "bytes": len(body)}
    await JSONResponse(answer)(scope, receive, send)


async def request_seen(scope, receive, send):
    """The method, path and Content-Length the app behind the gate saw, and the body it read."""
    request = Request(scope, receive)
    seen = {"method": request.method, "path": request.url.path, "length": request.headers.get("content-length")}
    await JSONResponse({**seen, "body": (await request.body()).decode()})(scope, receive, send)


def gate_client(app=echo, client: str = "203.0.113.9", gate: Gate | None = None, **policy) -> httpx2.AsyncClient:
    gate = gate or Gate(app, Policy(**policy))
    transport = httpx2.ASGITransport(app=gate, client=(client, 5000))
    return httpx2.AsyncClient(transport=transport, base_url="http://127.0.0.1:7860")


def policy_of(**environ: str) -> dict:
    policy = Policy.from_settings(load_settings(environ))
    return {name: getattr(policy, name) for name in Policy.__dataclass_fields__}


async def test_loopback_hosts_pass_and_others_get_a_json_421():
    async with gate_client() as client:
        for host in ("127.0.0.1:7860", "localhost", "[::1]:7860"):
            assert (await client.get("/rooms/x", headers={"Host": host})).status_code == 200
        response = await client.get("/rooms/x", headers={"Host": "evil.example:7860"})
    assert response.status_code == 421
    assert response.json() == {
        "error": {
            "code": "host_not_allowed",
            "message": "This server does not answer for that host name. Its operator can add it to ALLOWED_HOSTS.",
        }
    }


async def test_the_space_host_and_allowed_hosts_are_accepted():
    policy = policy_of(SPACE_HOST="me-tictactoe.hf.space", ALLOWED_HOSTS="games.example.org")
    async with gate_client(**policy) as client:
        assert (await client.get("/", headers={"Host": "me-tictactoe.hf.space"})).status_code == 200
        assert (await client.get("/", headers={"Host": "GAMES.example.org:443"})).status_code == 200
        assert (await client.get("/", headers={"Host": "other.hf.space"})).status_code == 421


async def test_a_star_allows_any_host():
    async with gate_client(**policy_of(ALLOWED_HOSTS="*")) as client:
        assert (await client.get("/", headers={"Host": "anything.example"})).status_code == 200


@pytest.mark.parametrize("origin", ["https://evil.example", "http://localhost:3000", "null"])
async def test_a_foreign_origin_gets_403(origin):
    async with gate_client() as client:
        response = await client.post("/rooms", headers={"Origin": origin})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "origin_not_allowed"
    assert "access-control-allow-origin" not in response.headers


async def test_the_servers_own_origin_passes_without_cors_headers():
    async with gate_client() as client:
        response = await client.post("/rooms", headers={"Origin": "http://127.0.0.1:7860"})
    assert response.status_code == 200
    assert "access-control-allow-origin" not in response.headers


async def test_an_allowed_origin_gets_cors_headers_and_a_preflight():
    async with gate_client(**policy_of(ALLOWED_ORIGINS="https://app.example")) as client:
        response = await client.post("/rooms", headers={"Origin": "https://app.example"})
        preflight = await client.options(
            "/mcp", headers={"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}
        )
    assert response.status_code == 200
    assert response.headers["access-control-allow-origin"] == "https://app.example"
    assert response.headers["vary"] == "Origin"
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "https://app.example"
    assert "Authorization" in preflight.headers["access-control-allow-headers"]


def test_le_chat_is_an_allowed_origin_by_default():
    assert policy_of()["allowed_origins"] == frozenset({"https://chat.mistral.ai"})


@pytest.mark.parametrize(("method", "path"), [("GET", "/sse"), ("POST", "/messages/?session_id=1"), ("POST", "/mcp")])
async def test_the_token_guards_every_mcp_path(method, path):
    async with gate_client(token=TOKEN) as client:
        missing = await client.request(method, path)
        wrong = await client.request(method, path, headers={"Authorization": "Bearer nope"})
        right = await client.request(method, path, headers={"Authorization": f"Bearer {TOKEN}"})
    assert missing.status_code == wrong.status_code == 401
    assert missing.headers["www-authenticate"] == 'Bearer realm="tictactoe"'
    assert wrong.headers["www-authenticate"] == 'Bearer realm="tictactoe", error="invalid_token"'
    assert missing.json()["error"] == {
        "code": "unauthorized",
        "message": "This server needs its access token: send the header Authorization: Bearer <MCP_AUTH_TOKEN>.",
    }
    assert TOKEN not in missing.text + wrong.text
    assert right.status_code == 200


async def test_the_token_guards_rest_writes_but_not_reads():
    async with gate_client(token=TOKEN) as client:
        assert (await client.post("/rooms")).status_code == 401
        assert (await client.post("/rooms", headers={"Authorization": f"bearer {TOKEN}"})).status_code == 200
        assert (await client.get("/rooms/abc")).status_code == 200
        assert (await client.get("/health")).status_code == 200


async def test_without_a_token_nothing_asks_for_one():
    async with gate_client() as client:
        assert (await client.post("/mcp")).status_code == 200


async def test_bodies_over_the_limit_get_a_json_413():
    async with gate_client() as client:
        assert (await client.post("/mcp", content=b"x" * BODY_LIMIT)).json()["bytes"] == BODY_LIMIT
        response = await client.post("/mcp", content=b"x" * (BODY_LIMIT + 1))
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_entity_too_large"


async def test_forwarded_headers_count_only_with_trusted_proxies():
    forwarded = {"X-Forwarded-For": "6.6.6.6, 198.51.100.7", "X-Forwarded-Proto": "https"}
    async with gate_client() as client:
        direct = (await client.get("/", headers=forwarded)).json()
    async with gate_client(trusted_proxies=1) as client:
        proxied = (await client.get("/", headers=forwarded)).json()
    assert direct == {"client": "203.0.113.9", "scheme": "http", "bytes": 0}
    assert proxied == {"client": "198.51.100.7", "scheme": "https", "bytes": 0}  # not the spoofable left end


@pytest.mark.parametrize("method", ["post", "Post", "pOsT", "PUT", "patch", "DELETE", "PROPFIND", "brew"])
async def test_every_spelling_of_a_write_needs_the_token(method):
    async with gate_client(app=request_seen, token=TOKEN) as client:
        refused = await client.request(method, "/rooms")
        allowed = await client.request(method, "/rooms", headers={"Authorization": f"Bearer {TOKEN}"})
    assert refused.status_code == 401
    assert (allowed.status_code, allowed.json()["method"]) == (200, method.upper())  # as every route behind sees it


@pytest.mark.parametrize("path", ["//sse", "/sse//", "///mcp", "/%73se", "/messages//?session_id=1", "//messages/"])
async def test_every_spelling_of_an_mcp_path_needs_the_token(path):
    url = f"http://127.0.0.1:7860{path}"  # whole: "//sse" alone would name a host
    async with gate_client(app=request_seen, token=TOKEN) as client:
        refused = await client.get(url)
        allowed = await client.get(url, headers={"Authorization": f"Bearer {TOKEN}"})
    assert refused.status_code == 401
    assert allowed.json()["path"] in ("/sse", "/sse/", "/mcp", "/messages/")  # doubled slashes merged


@pytest.mark.parametrize(
    ("header", "value", "status", "code"),
    [
        ("Host", "[::1", 421, "host_not_allowed"),
        ("Host", "", 421, "host_not_allowed"),
        ("Origin", "http://[::1", 403, "origin_not_allowed"),
        ("Origin", "http://127.0.0.1:7860:x:y", 403, "origin_not_allowed"),
        ("Authorization", b"Bearer \xff\xfe", 401, "unauthorized"),
    ],
)
async def test_a_header_that_does_not_parse_is_a_json_4xx(header, value, status, code):
    async with gate_client(token=TOKEN) as client:
        response = await client.post("/rooms", headers={header: value})
    assert (response.status_code, response.json()["error"]["code"]) == (status, code)


async def test_a_chunked_body_is_read_whole_and_given_a_length():
    async def chunks():
        for part in (b'{"a": ', b"1}"):
            yield part

    async with gate_client(app=request_seen) as client:
        response = await client.post("/rooms", content=chunks())
    assert response.json() == {"method": "POST", "path": "/rooms", "length": "8", "body": '{"a": 1}'}


async def test_a_chunked_body_over_the_limit_is_a_json_413():
    async def chunks():
        for _ in range(BODY_LIMIT // 1024 + 1):
            yield b"x" * 1024

    async with gate_client(app=request_seen) as client:
        response = await client.post("/rooms", content=chunks())
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_entity_too_large"


async def test_a_body_that_stalls_gets_a_408_and_reaches_no_route():
    reached = []

    async def app(scope, receive, send):
        reached.append(scope["path"])

    sent = []

    async def stalled():
        await asyncio.sleep(3600)

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/rooms", "query_string": b"", "client": ("127.0.0.2", 1),
             "headers": [(b"host", b"127.0.0.1"), (b"content-length", b"10")]}  # fmt: skip
    await asyncio.wait_for(Gate(app, Policy(body_seconds=0.2))(scope, stalled, send), 5)
    assert (sent[0]["status"], json.loads(sent[1]["body"])["error"]["code"]) == (408, "request_timeout")
    assert reached == []


async def test_each_client_has_its_share_of_requests_in_progress():
    release = asyncio.Event()

    async def slow(scope, receive, send):
        await release.wait()
        await JSONResponse({})(scope, receive, send)

    gate = Gate(slow, Policy(requests_per_client=2))
    async with (
        gate_client(gate=gate, client="127.0.0.2") as greedy,
        gate_client(gate=gate, client="127.0.0.3") as other,
    ):
        held = [asyncio.create_task(greedy.get("/health")) for _ in range(2)]
        await asyncio.sleep(0.05)
        refused = await greedy.get("/health")
        waiting = asyncio.create_task(other.get("/health"))
        await asyncio.sleep(0.05)
        release.set()
        assert [(await task).status_code for task in held] == [200, 200]
        assert (await waiting).status_code == 200
        again = await greedy.get("/health")
    assert (refused.status_code, refused.headers["retry-after"]) == (429, "1")
    assert refused.json()["error"]["code"] == "too_many_requests"
    assert again.status_code == 200


async def test_an_mcp_sessions_get_stream_is_a_stream_not_a_request_in_progress():
    """A streamable-HTTP client holds its session's GET stream open for the session's life: counted as a request
    in progress, a client's open sessions would soon refuse its every call (its sessions have their own cap)."""
    release = asyncio.Event()

    async def streams(scope, receive, send):
        if scope["method"] == "GET":
            await release.wait()
        await JSONResponse({})(scope, receive, send)

    async with gate_client(streams, requests_per_client=1) as client:
        held = [asyncio.create_task(client.get("/mcp")) for _ in range(2)]
        await asyncio.sleep(0.05)
        called = await client.post("/mcp", json={})
        release.set()
        assert [(await stream).status_code for stream in held] == [200, 200]
    assert called.status_code == 200
