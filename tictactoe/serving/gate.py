"""The gate in front of every route: the caller's address, then Host, Origin, token, their share and the body,
checked once.

Host and Origin checks stop DNS rebinding (a web page that points its own name at this server); the token keeps
MCP and every write to those who hold it; CORS lets only the origins named in ALLOWED_ORIGINS read answers. The
method and path are made canonical first, so that every route behind sees the request exactly as it was judged.
Bodies are read here, whole, within a deadline: nothing behind ever waits on a slow client's bytes.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import re
from collections import Counter
from contextlib import contextmanager
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tictactoe.doors.http import client_of
from tictactoe.serving.config import Settings

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
MCP_PATHS = ("/sse", "/messages/", "/mcp")
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})  # everything else is a write, and needs the token if there is one
# Long-lived GETs, each capped on its own: SSE sessions, the live pages, and a streamable-HTTP session's GET stream
# (one per session, whose count HttpSessions caps).
STREAM_PATHS = re.compile(r"/sse$|/mcp$|/rooms/[^/]+/events$|/watch/[^/]+/events$")
BODY_LIMIT = 64 * 1024  # bytes in any request body; JSON-RPC calls to these tools are far smaller
CORS_ALLOW_HEADERS = "Authorization, Content-Type, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID"
CORS_EXPOSE_HEADERS = "Location, Retry-After, WWW-Authenticate, Mcp-Session-Id"
_SLASHES = re.compile(r"//+")
log = logging.getLogger("tictactoe.access")


@dataclass(frozen=True)
class Policy:
    allowed_hosts: frozenset[str] = LOOPBACK
    any_host: bool = False
    allowed_origins: frozenset[str] = frozenset()
    token: str | None = field(default=None, repr=False)  # a secret: never shown
    trusted_proxies: int = 0
    requests_per_client: int = 32  # requests in progress at once from one client, streams aside
    body_seconds: float = 10.0  # a request's body must have arrived this long after its headers

    @classmethod
    def from_settings(cls, settings: Settings) -> Policy:
        hosts = set(settings.allowed_hosts) | LOOPBACK
        if settings.host not in ("0.0.0.0", "::", ""):
            hosts.add(settings.host.lower())
        return cls(
            allowed_hosts=frozenset(hosts),
            any_host="*" in hosts,
            allowed_origins=frozenset(settings.allowed_origins),
            token=settings.auth_token,
            trusted_proxies=settings.trusted_proxies,
            requests_per_client=settings.max_requests_per_client,
            body_seconds=settings.request_seconds,
        )


def hostname(host: str) -> str | None:
    """The name in a Host header, without the port: "[::1]:7860" is "::1"; None if it does not parse."""
    try:
        return urlsplit(f"//{host}").hostname
    except ValueError:
        return None


def origin_host(origin: str) -> str | None:
    """The host (and port) an Origin header names, lower-cased; None if it does not parse."""
    try:
        return urlsplit(origin).netloc.lower()
    except ValueError:
        return None


class Gate:
    """ASGI middleware: refuse what the policy forbids with a JSON 4xx, pass the rest on with CORS headers added."""

    def __init__(self, app: ASGIApp, policy: Policy):
        self.app = app
        self.policy = policy
        self._in_progress: Counter[str] = Counter()  # requests under way, by client

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        scope = self._canonical(scope)
        send = _noting_answer(scope, send)
        headers = Headers(scope=scope)
        refused = self._refusal(scope, headers)
        if refused is not None:
            await refused(scope, receive, send)
            return
        origin = headers.get("origin")
        if origin is not None and origin_host(origin) != headers.get("host", "").lower():
            send = with_cors(send, origin)
            if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
                await preflight()(scope, receive, send)
                return
        if STREAM_PATHS.match(scope["path"]) and scope["method"] == "GET":
            await self.app(scope, receive, send)  # a stream: its route counts it against its own cap
            return
        with self._share(client_of(scope)) as admitted:
            if not admitted:
                message = "Too many of your requests are in progress at once: wait for their answers."
                await refuse(429, "too_many_requests", message, {"Retry-After": "1"})(scope, receive, send)
                return
            await self._with_body(scope, receive, send, headers)

    def _canonical(self, scope: Scope) -> Scope:
        """The scope with the client and scheme the trusted proxies saw, the method in capitals and doubled
        slashes merged: the one spelling every route behind sees, and the one this gate judged."""
        scope = {**scope, "method": scope["method"].upper(), "path": _SLASHES.sub("/", scope["path"])}
        hops = self.policy.trusted_proxies
        if hops:
            headers = Headers(scope=scope)
            chain = [item.strip() for item in headers.get("x-forwarded-for", "").split(",") if item.strip()]
            protos = [item.strip() for item in headers.get("x-forwarded-proto", "").split(",") if item.strip()]
            if len(chain) >= hops:
                scope["client"] = (chain[-hops], 0)  # the address the outermost trusted proxy received from
            if protos and protos[-1] in ("http", "https"):
                scope["scheme"] = protos[-1]
        return scope

    def _refusal(self, scope: Scope, headers: Headers) -> Response | None:
        """Why the policy refuses this request, as the answer to give; None if it may go on."""
        host = headers.get("host", "")
        if not self.policy.any_host and hostname(host) not in self.policy.allowed_hosts:
            message = "This server does not answer for that host name. Its operator can add it to ALLOWED_HOSTS."
            return refuse(421, "host_not_allowed", message)
        origin = headers.get("origin")
        if origin is not None and not self._origin_allowed(origin, host):
            message = "Requests from web pages on other sites are refused. Its operator can add one to ALLOWED_ORIGINS."
            return refuse(403, "origin_not_allowed", message)
        if not self._authorized(scope, headers):
            return unauthorized(headers)
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > BODY_LIMIT:
            return too_large()
        return None

    def _origin_allowed(self, origin: str, host: str) -> bool:
        """Whether a page from `origin` may call: the server's own pages, and the origins its operator listed."""
        seen = origin_host(origin)
        return seen is not None and (seen == host.lower() or origin.lower().rstrip("/") in self.policy.allowed_origins)

    def _authorized(self, scope: Scope, headers: Headers) -> bool:
        """Whether the call may go on: MCP and every write need the token when there is one."""
        token = self.policy.token
        if token is None or (scope["method"] in SAFE_METHODS and not scope["path"].startswith(MCP_PATHS)):
            return True
        scheme, _, given = headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())

    @contextmanager
    def _share(self, client: str):
        """Count one request of `client` while it is under way; yields whether it is within their share."""
        if self._in_progress[client] >= self.policy.requests_per_client:
            yield False
            return
        self._in_progress[client] += 1
        try:
            yield True
        finally:
            self._in_progress[client] -= 1
            if not self._in_progress[client]:
                del self._in_progress[client]

    async def _with_body(self, scope: Scope, receive: Receive, send: Send, headers: Headers) -> None:
        """Pass the request on with its body read whole, or refuse it: too large (413) or too slow (408)."""
        if "content-length" not in headers and "transfer-encoding" not in headers:
            await self.app(scope, receive, send)
            return
        try:
            async with asyncio.timeout(self.policy.body_seconds):
                body = await read_body(receive)
        except TimeoutError:
            message = f"The request's body did not arrive within {self.policy.body_seconds:g} seconds."
            await refuse(408, "request_timeout", message, {"Connection": "close"})(scope, receive, send)
            return
        except TooLarge:
            await too_large()(scope, receive, send)
            return
        except ClientGone:
            return  # nobody to answer
        scope = {**scope, "headers": _with_length(scope["headers"], len(body))}
        await self.app(scope, replay(body, receive), send)


class TooLarge(Exception):
    """A request's body passed BODY_LIMIT."""


class ClientGone(Exception):
    """The client went away before its request's body had arrived."""


async def read_body(receive: Receive) -> bytes:
    """The request's body, whole."""
    chunks, size = [], 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientGone
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > BODY_LIMIT:
            raise TooLarge
        chunks.append(chunk)
        if not message.get("more_body", False):
            return b"".join(chunks)


def replay(body: bytes, receive: Receive) -> Receive:
    """`receive` that gives the body read already, then passes on what the server says next (a disconnect)."""
    sent = False

    async def receive_replayed() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return receive_replayed


def _with_length(raw: list[tuple[bytes, bytes]], length: int) -> list[tuple[bytes, bytes]]:
    """Headers for a body now read whole: its Content-Length, and no Transfer-Encoding (the chunks are joined)."""
    kept = [(name, value) for name, value in raw if name not in (b"content-length", b"transfer-encoding")]
    return [*kept, (b"content-length", str(length).encode())]


def _noting_answer(scope: Scope, send: Send) -> Send:
    """`send` that logs the answer's status line: at info if it refuses or fails (a 4xx or 5xx, what an operator
    looks for), else at debug. One line a call at info would cost a busy server a tenth of its CPU."""

    async def send_noted(message: Message) -> None:
        if message["type"] == "http.response.start":
            status = message["status"]
            if status >= 400 or log.isEnabledFor(logging.DEBUG):
                query = scope["query_string"].decode("latin-1")
                target = f"{scope['path']}?{query}" if query else scope["path"]
                level = logging.INFO if status >= 400 else logging.DEBUG
                log.log(level, '%s - "%s %s HTTP/%s" %d', client_of(scope), scope["method"], target,
                        scope.get("http_version", "1.1"), status)  # fmt: skip
        await send(message)

    return send_noted


def refuse(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    """A refusal as every route answers one; one to retry later says when in its body too, as game errors do."""
    error: dict = {"code": code, "message": message}
    if headers and "Retry-After" in headers:
        error["retry_after"] = int(headers["Retry-After"])
    return JSONResponse({"error": error}, status, headers=headers)


def too_large() -> Response:
    return refuse(413, "request_entity_too_large", f"Request bodies are limited to {BODY_LIMIT} bytes.")


def unauthorized(headers: Headers) -> Response:
    challenge = 'Bearer realm="tictactoe"'
    if headers.get("authorization"):
        challenge += ', error="invalid_token"'
    message = "This server needs its access token: send the header Authorization: Bearer <MCP_AUTH_TOKEN>."
    return refuse(401, "unauthorized", message, {"WWW-Authenticate": challenge})


def preflight() -> Response:
    return Response(
        status_code=204,
        headers={
            "Access-Control-Allow-Methods": "GET, POST, DELETE, OPTIONS",
            "Access-Control-Allow-Headers": CORS_ALLOW_HEADERS,
            "Access-Control-Max-Age": "600",
        },
    )


def with_cors(send: Send, origin: str) -> Send:
    """`send` that adds the CORS headers letting `origin` (an allowed one) read the answer."""

    async def send_with_cors(message: Message) -> None:
        if message["type"] == "http.response.start":
            message = dict(message)
            message["headers"] = [
                *message.get("headers", []),
                (b"access-control-allow-origin", origin.encode("latin-1")),
                (b"access-control-expose-headers", CORS_EXPOSE_HEADERS.encode()),
                (b"vary", b"Origin"),
            ]
        await send(message)

    return send_with_cors
