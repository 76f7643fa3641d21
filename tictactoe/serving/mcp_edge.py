"""In front of the MCP library's two HTTP transports: JSON-RPC read strictly, each client's sessions bounded.

- JsonRpcEdge reads every POSTed message before the library does: what is not JSON answers -32700, what is not a
  JSON-RPC request -32600 (with the request's id where it has one), text that is not valid Unicode -32602.
- SseSessions and HttpSessions count the sessions each client holds open (an SSE stream; a streamable-HTTP
  session made by `initialize`), refuse more than their share and more than the server holds, limit how fast one
  client opens them, and close a session nobody has used for a while.
- JsonErrors turns the library's plain-text refusals (a wrong method, an unknown session) into JSON like every
  other route's.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from collections import Counter
from urllib.parse import parse_qs

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tictactoe.doors import jsonin
from tictactoe.doors.http import client_of
from tictactoe.game.errors import RateLimited
from tictactoe.services.limits import RateLimiter
from tictactoe.serving.gate import read_body, replay

PARSE_ERROR, INVALID_REQUEST, INVALID_PARAMS = -32700, -32600, -32602
TOO_MANY_SESSIONS = -32000  # an implementation-defined server error: the caller holds (or the server has) too many
MESSAGE = "tictactoe.jsonrpc"  # the scope key under which JsonRpcEdge leaves the message it read
CALLS_PER_SESSION = 16  # calls one SSE session may have under way, answers not yet sent: a client that does not
# read its stream would otherwise pile up calls (and their answers) without end
TOO_MANY_CALLS = -32001
_ENDPOINT = re.compile(rb"session_id=([0-9a-f]+)")
_ANSWERED = re.compile(
    rb'^data: \{"jsonrpc":"2\.0","id":(-?\d+|"(?:[^"\\]|\\.)*")', re.MULTILINE
)  # as the library writes
_PLAIN_ERRORS = {  # what the library's plain-text refusals mean, said as every other route says it
    400: ("bad_request", "This request does not fit the MCP transport at this address."),
    404: ("session_not_found", "No MCP session has that id: it ended or never existed. Connect again."),
    405: ("method_not_allowed", "This address does not take that method."),
    406: ("not_acceptable", "Accept must list application/json and text/event-stream."),
    415: ("unsupported_media_type", "Send JSON-RPC as Content-Type: application/json."),
}


def rpc_error(status: int, code: int, message: str, request_id: object = None, headers: dict | None = None) -> Response:
    body = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    return JSONResponse(body, status, headers=headers)


class JsonRpcEdge:
    """Read a POSTed JSON-RPC message strictly and refuse what the game could not store or the library would
    misreport; pass the rest on, with the message left in the scope."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != "POST":
            await self.app(scope, receive, send)
            return
        body = await read_body(receive)  # the gate has it whole already
        try:
            message = jsonin.parse(body)
        except jsonin.JsonRefused as refused:
            if refused.syntax:
                refusal = rpc_error(400, PARSE_ERROR, f"Parse error: {refused.message}")
            else:
                refusal = rpc_error(400, INVALID_PARAMS, f"Invalid params: {refused.message}", id_of(refused.value))
            await refusal(scope, receive, send)
            return
        problem = envelope_problem(message)
        if problem is not None:
            refusal = rpc_error(400, INVALID_REQUEST, f"Invalid Request: {problem}", id_of(message))
            await refusal(scope, receive, send)
            return
        await self.app({**scope, MESSAGE: message}, replay(body, receive), send)


def id_of(message: object) -> str | int | None:
    """The id of a JSON-RPC message, if it has one that can be answered to."""
    request_id = message.get("id") if isinstance(message, dict) else None
    return request_id if valid_id(request_id) else None


def valid_id(value: object) -> bool:
    """Whether `value` can be a JSON-RPC request id in MCP: a string or a whole number, never null."""
    return isinstance(value, str) or (isinstance(value, int) and not isinstance(value, bool))


def envelope_problem(message: object) -> str | None:
    """What keeps `message` from being a JSON-RPC 2.0 request, notification or response; None if nothing does."""
    if isinstance(message, list):
        return "batches are not supported: send one message per request."
    if not isinstance(message, dict):
        return "the body must be a JSON-RPC message, a JSON object."
    if message.get("jsonrpc") != "2.0":
        return 'jsonrpc must be "2.0".'
    if "id" in message and not valid_id(message["id"]):
        return "id must be a string or a whole number."
    if "method" in message:
        if not isinstance(message["method"], str):
            return "method must be a string."
        if "params" in message and not isinstance(message["params"], dict):
            return "params must be an object."
        return None
    if "id" in message and ("result" in message) != ("error" in message):
        return None  # a response, to a request the server made
    return "a message needs a method (or, as a response, an id and a result or an error)."


class Sessions:
    """What both transports' session counts share: the caps, the opening rate and the idle time."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter, per_client: int, total: int, idle: float):
        self.app = app
        self.limiter = limiter
        self.per_client = per_client
        self.total = total
        self.idle = idle
        self.clients: Counter[str] = Counter()  # open sessions by client

    def admission(self, client: str, request_id: object = None) -> Response | None:
        """Why `client` may not open another session now, as the answer to give; None if it may."""
        if self.clients[client] >= self.per_client:
            message = f"You have {self.per_client} MCP sessions open, as many as one client may: close one first."
            return rpc_error(429, TOO_MANY_SESSIONS, message, request_id, {"Retry-After": "60"})
        if self.clients.total() >= self.total:
            message = "The server holds as many MCP sessions as it can: try again in a minute."
            return rpc_error(503, TOO_MANY_SESSIONS, message, request_id, {"Retry-After": "60"})
        try:
            self.limiter.hit(client, "session")
        except RateLimited as error:
            headers = {"Retry-After": str(error.retry_after)}
            return rpc_error(429, TOO_MANY_SESSIONS, error.message, request_id, headers)
        return None

    def opened(self, client: str) -> None:
        self.clients[client] += 1

    def closed(self, client: str) -> None:
        self.clients[client] -= 1
        if not self.clients[client]:
            del self.clients[client]


class SseSessions(Sessions):
    """SSE: a session is an open GET /sse stream; POST /messages/?session_id= is its use. A stream is closed once
    no message has come for `idle` seconds."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter, per_client: int, total: int, idle: float):
        super().__init__(app, limiter, per_client, total, idle)
        self._used: dict[str, float] = {}  # when each open stream's session last got a message, by session_id
        self._pending: dict[str, set[str | int]] = {}  # the ids of each session's calls not yet answered

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["path"] == "/sse" and scope["method"] == "GET":
            await self._stream(scope, receive, send)
            return
        session_id = parse_qs(scope["query_string"].decode("latin-1")).get("session_id", [""])[0]
        if session_id in self._used:
            self._used[session_id] = time.monotonic()
            message = scope.get(MESSAGE)
            if isinstance(message, dict) and "method" in message and "id" in message:
                pending = self._pending[session_id]
                if len(pending) >= CALLS_PER_SESSION:
                    text = f"This session has {CALLS_PER_SESSION} calls under way: read their answers first."
                    await rpc_error(429, TOO_MANY_CALLS, text, message["id"], {"Retry-After": "1"})(
                        scope, receive, send
                    )
                    return
                pending.add(message["id"])
        await self.app(scope, receive, send)

    async def _stream(self, scope: Scope, receive: Receive, send: Send) -> None:
        client = client_of(scope)
        refused = self.admission(client)
        if refused is not None:
            await refused(scope, receive, send)
            return
        self.opened(client)
        named: list[str] = []  # the stream's session_id, once the library has announced it
        ended = []  # whether the stream's response has been ended
        try:
            await self.app(scope, self._until_idle(receive, named), self._naming(send, named, ended))
            if not ended:  # closed for being idle: the library stopped as if the client had gone, mid-response
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.closed(client)
            for session_id in named:
                self._used.pop(session_id, None)
                self._pending.pop(session_id, None)

    def _naming(self, send: Send, named: list[str], ended: list[bool]) -> Send:
        """`send` that notes the session_id the library announces in the stream's first event, and its end."""

        async def send_naming(message: Message) -> None:
            if message["type"] == "http.response.body":
                body = message.get("body", b"")
                if not named and (found := _ENDPOINT.search(body)):
                    named.append(found.group(1).decode())
                    self._used[named[0]] = time.monotonic()
                    self._pending[named[0]] = set()
                elif named:
                    self._pending[named[0]].difference_update(json.loads(match) for match in _ANSWERED.findall(body))
                if not message.get("more_body", False):
                    ended.append(True)
            await send(message)

        return send_naming

    def _until_idle(self, receive: Receive, named: list[str]) -> Receive:
        """`receive` that reports a disconnect once the stream's session has had no message for `idle` seconds."""
        opened = time.monotonic()

        async def receive_until_idle() -> Message:
            while True:
                last = self._used.get(named[0], opened) if named else opened
                remaining = last + self.idle - time.monotonic()
                if remaining <= 0:
                    return {"type": "http.disconnect"}
                try:
                    return await asyncio.wait_for(receive(), remaining)
                except TimeoutError:
                    continue

        return receive_until_idle


class HttpSessions(Sessions):
    """Streamable HTTP: a session is made by an `initialize` (the answer names it in Mcp-Session-Id) and ends with
    a DELETE, or when the library closes it after `idle` seconds unused (as it is told to, in build_asgi)."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter, per_client: int, total: int, idle: float):
        super().__init__(app, limiter, per_client, total, idle)
        self._sessions: dict[str, tuple[str, float]] = {}  # session id -> (its client, when it was last used)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session_id = Headers(scope=scope).get("mcp-session-id")
        message = scope.get(MESSAGE)
        if session_id is not None:
            await self.app(scope, receive, self._using(send, session_id, scope["method"]))
        elif isinstance(message, dict) and message.get("method") == "initialize":
            await self._open(scope, receive, send, message.get("id"))
        else:
            await self.app(scope, receive, send)  # no session: the sessionless 2026-07-28 protocol

    async def _open(self, scope: Scope, receive: Receive, send: Send, request_id: object) -> None:
        self._forget_idle()
        client = client_of(scope)
        refused = self.admission(client, request_id)
        if refused is not None:
            await refused(scope, receive, send)
            return

        async def send_noting(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                session_id = Headers(raw=message["headers"]).get("mcp-session-id")
                if session_id is not None and session_id not in self._sessions:
                    self._sessions[session_id] = (client, time.monotonic())
                    self.opened(client)
            await send(message)

        await self.app(scope, receive, send_noting)

    def _using(self, send: Send, session_id: str, method: str) -> Send:
        """`send` for a request in session `session_id`: the session was used now, and is forgotten when it ends."""
        if session_id in self._sessions:
            self._sessions[session_id] = (self._sessions[session_id][0], time.monotonic())

        async def send_watching(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                if status == 404 or (method == "DELETE" and status < 300):
                    self._forget(session_id)
            await send(message)

        return send_watching

    def _forget(self, session_id: str) -> None:
        entry = self._sessions.pop(session_id, None)
        if entry is not None:
            self.closed(entry[0])

    def _forget_idle(self) -> None:
        """Forget the sessions the library has closed for being idle."""
        cutoff = time.monotonic() - self.idle
        for session_id in [sid for sid, (_, used) in self._sessions.items() if used < cutoff]:
            self._forget(session_id)


class JsonErrors:
    """The MCP library's own plain-text refusals (405, 404 for an unknown session, 406...) as JSON errors."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        replacing = False

        async def send_json(message: Message) -> None:
            nonlocal replacing
            if message["type"] == "http.response.start":
                headers = Headers(raw=message["headers"])
                status = message["status"]
                if status in _PLAIN_ERRORS and not headers.get("content-type", "").startswith("application/json"):
                    replacing = True
                    code, text = _PLAIN_ERRORS[status]
                    body = json.dumps({"error": {"code": code, "message": text}}).encode()
                    kept = [(name, value) for name, value in message["headers"] if name == b"allow"]
                    kept += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
                    await send({"type": "http.response.start", "status": status, "headers": kept})
                    await send({"type": "http.response.body", "body": body})
                    return
            if not replacing:
                await send(message)

        await self.app(scope, receive, send_json)
