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

REST_THREADS = 32  # Flask requests served at once; each may wait on the opponent
_ROOM_PATH = re.compile(r"/rooms/[^/\s?\"]+")


class RedactRoomIds(logging.Filter):
    """Keep room ids out of access logs: holding an id is the right to play in that room."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(_ROOM_PATH.sub("/rooms/…", a) if isinstance(a, str) else a for a in record.args)
        return True


def build_asgi(mcp: FastMCP, flask_app: Flask) -> Starlette:
    """Route each MCP path to its own fastmcp app, whole (middleware included), and everything else to Flask."""
    sse = mcp.http_app(transport="sse")
    streamable = mcp.http_app(transport="http")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        async with sse.lifespan(app), streamable.lifespan(app):
            yield

    return Starlette(
        routes=[
            Route("/sse", sse),
            Route("/messages/{rest:path}", sse),
            Route("/mcp", streamable),
            Mount("/", WSGIMiddleware(flask_app, workers=REST_THREADS)),
        ],
        lifespan=lifespan,
    )
