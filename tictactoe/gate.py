"""The gate in front of every route: the caller's address, then Host, Origin, token and body size, checked once.

Host and Origin checks stop DNS rebinding (a web page that points its own name at this server); the token keeps
MCP and the REST writes to those who hold it; CORS lets only the origins named in ALLOWED_ORIGINS read answers.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from tictactoe.config import Settings

LOOPBACK = frozenset({"localhost", "127.0.0.1", "::1"})
MCP_PATHS = ("/sse", "/messages/", "/mcp")
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
BODY_LIMIT = 64 * 1024  # bytes in any request body; JSON-RPC calls to these tools are far smaller
CORS_ALLOW_HEADERS = "Authorization, Content-Type, Mcp-Session-Id, Mcp-Protocol-Version, Last-Event-ID"
CORS_EXPOSE_HEADERS = "Location, Retry-After, WWW-Authenticate, Mcp-Session-Id"


@dataclass(frozen=True)
class Policy:
    allowed_hosts: frozenset[str] = LOOPBACK
    any_host: bool = False
    allowed_origins: frozenset[str] = frozenset()
    token: str | None = field(default=None, repr=False)  # a secret: never shown
    trusted_proxies: int = 0

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
        )


def hostname(host: str) -> str | None:
    """The name in a Host header, without the port: "[::1]:7860" is "::1"."""
    try:
        return urlsplit(f"//{host}").hostname
    except ValueError:
        return None


class Gate:
    """ASGI middleware: refuse what the policy forbids with a JSON 4xx, pass the rest on with CORS headers added."""

    def __init__(self, app: ASGIApp, policy: Policy):
        self.app = app
        self.policy = policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        scope = self._forwarded(scope, headers)
        host = headers.get("host", "")
        if not self.policy.any_host and hostname(host) not in self.policy.allowed_hosts:
            message = "This server does not answer for that host name. Its operator can add it to ALLOWED_HOSTS."
            await refuse(421, "host_not_allowed", message)(scope, receive, send)
            return
        origin = headers.get("origin")
        cross_origin = origin is not None and urlsplit(origin).netloc.lower() != host.lower()
        if cross_origin and origin.lower().rstrip("/") not in self.policy.allowed_origins:
            message = "Requests from web pages on other sites are refused. Its operator can add one to ALLOWED_ORIGINS."
            await refuse(403, "origin_not_allowed", message)(scope, receive, send)
            return
        if cross_origin:
            send = with_cors(send, origin)
            if scope["method"] == "OPTIONS" and "access-control-request-method" in headers:
                await preflight()(scope, receive, send)
                return
        if not self._authorized(scope, headers):
            await unauthorized(headers)(scope, receive, send)
            return
        length = headers.get("content-length", "")
        if length.isdigit() and int(length) > BODY_LIMIT:
            await refuse(413, "request_entity_too_large", f"Request bodies are limited to {BODY_LIMIT} bytes.")(
                scope, receive, send
            )
            return
        await self.app(scope, limited(receive), send)

    def _forwarded(self, scope: Scope, headers: Headers) -> Scope:
        """The scope with the client and scheme the trusted proxies saw, when there are such proxies."""
        hops = self.policy.trusted_proxies
        if not hops:
            return scope
        chain = [item.strip() for item in headers.get("x-forwarded-for", "").split(",") if item.strip()]
        protos = [item.strip() for item in headers.get("x-forwarded-proto", "").split(",") if item.strip()]
        scope = dict(scope)
        if len(chain) >= hops:
            scope["client"] = (chain[-hops], 0)  # the address the outermost trusted proxy received from
        if protos and protos[-1] in ("http", "https"):
            scope["scheme"] = protos[-1]
        return scope

    def _authorized(self, scope: Scope, headers: Headers) -> bool:
        """Whether the call may go on: MCP and writes need the token when there is one."""
        token = self.policy.token
        if token is None or not (scope["path"].startswith(MCP_PATHS) or scope["method"] in WRITES):
            return True
        scheme, _, given = headers.get("authorization", "").partition(" ")
        return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def refuse(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> Response:
    return JSONResponse({"error": {"code": code, "message": message}}, status, headers=headers)


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


def limited(receive: Receive) -> Receive:
    """`receive` that ends the request (as a disconnect) once its body passes BODY_LIMIT without a Content-Length."""
    received = 0

    async def receive_limited() -> Message:
        nonlocal received
        message = await receive()
        if message["type"] == "http.request":
            received += len(message.get("body", b""))
            if received > BODY_LIMIT:
                return {"type": "http.disconnect"}
        return message

    return receive_limited
