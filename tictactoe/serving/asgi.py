"""One ASGI app on one port: MCP over SSE (/sse, /messages/) and streamable HTTP (/mcp), the live pages' event
streams, then Flask; behind the gate, and served by uvicorn with bounded connections, in one process or several
(WORKERS, with REDIS_URL).

With REDIS_URL the processes (workers, or replicas behind a load balancer) share everything through Redis: /mcp runs
stateless (each call stands alone, as the 2026-07-28 protocol has it), and a POST for an SSE session another
process holds is relayed to it (relay.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import socket
import sys

import uvicorn
from a2wsgi import WSGIMiddleware
from fastmcp import FastMCP
from flask import Flask
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from tictactoe.doors.pages.live import Viewers
from tictactoe.services.games import GameService
from tictactoe.serving.config import Settings
from tictactoe.serving.connections import Connections, open_files_allowed
from tictactoe.serving.gate import Gate, Policy
from tictactoe.serving.jsonrpc import JsonErrors, JsonRpcEdge
from tictactoe.serving.relay import SseRelay
from tictactoe.serving.sessions import HttpSessions, SseSessions
from tictactoe.serving.wsgi import WsgiInLoop

REST_THREADS = 128  # Flask requests served at once when they wait (on the model, or Redis): a move holds one
GRACE_SECONDS = 2  # on stopping, open requests (streams above all) get this long to finish
STARTUP_FAILURE = 3  # the exit status of a server that could not start, as uvicorn's


def build_asgi(mcp: FastMCP, flask_app: Flask, service: GameService, settings: Settings) -> Gate:
    """Behind the gate, route each MCP path to its own fastmcp app, whole (middleware included), the event streams
    to the viewers, the rest to Flask."""
    idle = settings.session_idle_minutes * 60
    shared = settings.redis_url is not None  # other processes may serve the same clients
    sse = mcp.http_app(transport="sse")
    streamable = mcp.http_app(transport="http", session_idle_timeout=idle, stateless_http=shared)
    shares = (service.limiter, settings.max_sessions_per_client, settings.max_sessions, idle)
    sse_sessions = SseSessions(JsonErrors(sse), *shares)
    relay = SseRelay(sse_sessions, settings.redis_url, service.rooms.link.prefix) if shared else None
    viewers = Viewers(service, settings.max_viewers_per_client, settings.max_viewers)
    waits = not service.instant or shared  # on the model, or on Redis: else the loop serves Flask itself (wsgi.py)
    flask = WSGIMiddleware(flask_app, workers=REST_THREADS) if waits else WsgiInLoop(flask_app)

    @contextlib.asynccontextmanager
    async def lifespan(app):
        async with sse.lifespan(app), streamable.lifespan(app), relaying(relay):
            service.people.restarted()
            gc.freeze()  # what is loaded by now lives as long as the server: full collections need not walk it
            yield

    routes = Starlette(
        routes=[
            Route("/sse", sse_sessions),
            Route("/messages/{rest:path}", JsonRpcEdge(relay or sse_sessions)),
            Route("/mcp", JsonRpcEdge(HttpSessions(JsonErrors(streamable), *shares))),
            *viewers.routes(),
            Mount("/", flask),
        ],
        lifespan=lifespan,
    )
    return Gate(routes, Policy.from_settings(settings))


@contextlib.asynccontextmanager
async def relaying(relay: SseRelay | None):
    """The relay hearing other processes' POSTs while the app serves (nothing without one)."""
    if relay is None:
        yield
        return
    hearing = asyncio.create_task(relay.hear())
    try:
        yield
    finally:
        hearing.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await hearing
        await relay.close()


def serve(app: Gate, settings: Settings, listening: socket.socket | None = None) -> None:
    """Serve `app` on the configured address (or on the socket `listening`, a worker's) until stopped, each
    address's connections bounded."""
    config = uvicorn.Config(
        app,
        host=settings.host,
        port=settings.port,
        http=bounded(settings).protocol(),
        log_level=settings.log_level,
        access_log=False,  # the gate logs each answer's status line: refusals at info, the rest at debug
        proxy_headers=False,  # the gate reads X-Forwarded-* from TRUSTED_PROXIES only
        log_config=None,  # keep the one-line logging configured by the entry point
        timeout_graceful_shutdown=GRACE_SECONDS,
    )
    server = uvicorn.Server(config)
    server.run(sockets=[listening] if listening is not None else None)
    if not server.started:
        sys.exit(STARTUP_FAILURE)  # the address is taken, say: uvicorn logged why


def bounded(settings: Settings) -> Connections:
    """The bounds on this process's connections: per address, and in all."""
    return Connections(
        settings.max_connections_per_client,
        enforced=not settings.trusted_proxies,
        header_seconds=settings.request_seconds,
        total=open_files_allowed(),
    )
