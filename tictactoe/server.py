"""One ASGI app on one port: MCP over SSE (/sse, /messages/), MCP over streamable HTTP (/mcp), then Flask."""

from __future__ import annotations

import contextlib
import logging
import re

from a2wsgi import WSGIMiddleware
from fastmcp import FastMCP
from flask import Flask
from starlette.applications import Starlette
from starlette.routing import Mount, Route

from tictactoe.gate import Gate, Policy
from tictactoe.pages import EVENT_STREAMS

REST_THREADS = 128  # Flask requests served at once: a REST move holds one while the opponent thinks
GRACE_SECONDS = 2  # on stopping, open requests (live pages' streams above all) get this long to finish
_CAPABILITIES = re.compile(r"(/rooms/|session_id=|player_token=)[^/\s?&\"]+")


class RedactIds(logging.Filter):
    """Keep room ids, MCP session ids and seat tokens out of access logs: each is a right to play."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_CAPABILITIES.sub(r"\1…", a) if isinstance(a, str) else a for a in record.args)
        return True


def build_asgi(mcp: FastMCP, flask_app: Flask, policy: Policy) -> Gate:
    """Behind the gate, route each MCP path to its own fastmcp app, whole (middleware included), the rest to Flask."""
    sse = mcp.http_app(transport="sse")
    streamable = mcp.http_app(transport="http")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        async with sse.lifespan(app), streamable.lifespan(app):
            yield
        flask_app.extensions["tictactoe.streams"].close()  # live pages' streams hold threads: end them

    routes = Starlette(
        routes=[
            Route("/sse", sse),
            Route("/messages/{rest:path}", sse),
            Route("/mcp", streamable),
            Mount("/", WSGIMiddleware(flask_app, workers=REST_THREADS + EVENT_STREAMS)),
        ],
        lifespan=lifespan,
    )
    return Gate(routes, policy)
