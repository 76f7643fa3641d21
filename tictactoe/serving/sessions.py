"""Each client's MCP sessions, bounded on both transports: an SSE stream, or a streamable-HTTP session made by
`initialize`. A client may hold its share and open them at a rate; the server holds so many in all; a session
nobody has used for a while is closed; and an SSE session has so many calls under way at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS
from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tictactoe.doors.http import client_of
from tictactoe.game.errors import Busy, StoreUnavailable
from tictactoe.services.limits import RateLimiter
from tictactoe.serving.jsonrpc import MESSAGE, rpc_error

TOO_MANY_SESSIONS = -32000  # an implementation-defined server error: the caller holds (or the server has) too many
CALLS_PER_SESSION = 16  # calls one SSE session may have under way, answers not yet sent: a client that does not
# read its stream would otherwise pile up calls (and their answers) without end
TOO_MANY_CALLS = -32001
_ENDPOINT = re.compile(rb"session_id=([0-9a-f]+)")
_ANSWERED = re.compile(
    rb'^data: \{"jsonrpc":"2\.0","id":(-?\d+|"(?:[^"\\]|\\.)*")', re.MULTILINE
)  # as the library writes


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
        except Busy as error:  # rate-limited, or the store that counts sessions is unreachable
            headers = {"Retry-After": str(error.retry_after)}
            status = 503 if isinstance(error, StoreUnavailable) else 429
            return rpc_error(status, TOO_MANY_SESSIONS, error.message, request_id, headers)
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
        # Told when a stream's session is named (with the stream's scope) and when it ends: relay.py's, to take
        # POSTs for it that reach other processes.
        self.on_named: Callable[[str, Scope], Awaitable[None]] | None = None
        self.on_ended: Callable[[str], Awaitable[None]] | None = None

    def holds(self, session_id: str) -> bool:
        """Whether this process holds the stream of SSE session `session_id`."""
        return session_id in self._used

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
            await self.app(scope, self._until_idle(receive, named), self._naming(scope, send, named, ended))
            if not ended:  # closed for being idle: the library stopped as if the client had gone, mid-response
                await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            self.closed(client)
            for session_id in named:
                self._used.pop(session_id, None)
                self._pending.pop(session_id, None)
                if self.on_ended is not None:
                    await self.on_ended(session_id)

    def _naming(self, scope: Scope, send: Send, named: list[str], ended: list[bool]) -> Send:
        """`send` that notes the session_id the library announces in the stream's first event, and its end."""

        async def send_naming(message: Message) -> None:
            if message["type"] == "http.response.body":
                body = message.get("body", b"")
                if not named and (found := _ENDPOINT.search(body)):
                    named.append(found.group(1).decode())
                    self._used[named[0]] = time.monotonic()
                    self._pending[named[0]] = set()
                    if self.on_named is not None:  # before the client hears the endpoint, and posts to it
                        await self.on_named(named[0], scope)
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


def handshake_era(scope: Scope) -> bool:
    """Whether the library serves this request in the handshake era, where an `initialize` opens a session. It goes
    by the MCP-Protocol-Version header: with a sessionless (or unknown) version, an `initialize` opens nothing (it
    is answered 404, a method that era does not have), so it must neither count as nor be refused as a session."""
    version = Headers(scope=scope).get("mcp-protocol-version")
    return version is None or version in HANDSHAKE_PROTOCOL_VERSIONS


@dataclass
class HttpSession:
    """A streamable-HTTP session as counted here: whose it is, and whether (and since when) it has been idle."""

    client: str
    in_flight: int = 0  # its requests being served; an open GET stream is one for as long as it is open
    since: float = field(default_factory=time.monotonic)  # when it was opened, or its last request ended

    def idle_before(self, cutoff: float) -> bool:
        """Whether the library has closed it for being idle by `cutoff`: nothing in flight, nothing ended since."""
        return not self.in_flight and self.since < cutoff


class HttpSessions(Sessions):
    """Streamable HTTP: a session is made by an `initialize` (the answer names it in Mcp-Session-Id) and ends with
    a DELETE, or when the library closes it after `idle` seconds with no request in flight (as it is told to, in
    build_asgi): a session whose GET stream stays open never idles."""

    def __init__(self, app: ASGIApp, limiter: RateLimiter, per_client: int, total: int, idle: float):
        super().__init__(app, limiter, per_client, total, idle)
        self._sessions: dict[str, HttpSession] = {}  # by session id

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        session_id = Headers(scope=scope).get("mcp-session-id")
        message = scope.get(MESSAGE)
        if session_id is not None:
            with self._serving(session_id):
                await self.app(scope, receive, self._watching(send, session_id, scope["method"]))
        elif isinstance(message, dict) and message.get("method") == "initialize" and handshake_era(scope):
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
                    self._sessions[session_id] = HttpSession(client)
                    self.opened(client)
            await send(message)

        await self.app(scope, receive, send_noting)

    @contextlib.contextmanager
    def _serving(self, session_id: str):
        """Count a request of session `session_id` while it is served: as for the library, it is not idle then."""
        session = self._sessions.get(session_id)
        if session is None:
            yield
            return
        session.in_flight += 1
        try:
            yield
        finally:
            session.in_flight -= 1
            session.since = time.monotonic()

    def _watching(self, send: Send, session_id: str, method: str) -> Send:
        """`send` for a request in session `session_id`, which forgets the session when the answer says it ended."""

        async def send_watching(message: Message) -> None:
            if message["type"] == "http.response.start":
                status = message["status"]
                if status == 404 or (method == "DELETE" and status < 300):
                    self._forget(session_id)
            await send(message)

        return send_watching

    def _forget(self, session_id: str) -> None:
        session = self._sessions.pop(session_id, None)
        if session is not None:
            self.closed(session.client)

    def _forget_idle(self) -> None:
        """Forget the sessions the library has closed for being idle."""
        cutoff = time.monotonic() - self.idle
        for session_id in [sid for sid, session in self._sessions.items() if session.idle_before(cutoff)]:
            self._forget(session_id)
