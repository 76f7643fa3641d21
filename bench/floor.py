"""The floor: what the libraries alone cost, served the way the game is, for bench/perf.py to measure the game
against. No game, no gate, no limits: the same six MCP tools (names and arguments) on bare fastmcp answering
static small results, over SSE (/sse, /messages/) and streamable HTTP (/mcp); a trivial Flask app (POST /rooms,
POST /rooms/<id>/move) served in the event loop's thread, as the game serves its own when no request waits
(tictactoe/serving/wsgi.py); and a bare Starlette fan-out of server-sent events (/watch/<id>/events)
woken by those moves. One Starlette app on one port, under uvicorn (h11), as tictactoe/serving/asgi.py builds it.

.venv/bin/python bench/floor.py   # on HOST:PORT (127.0.0.1:7860 by default)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import sys
import threading
from collections.abc import AsyncIterator
from pathlib import Path

import uvicorn
from fastmcp import FastMCP
from fastmcp.tools import ToolResult
from flask import Flask, jsonify, request
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import StreamingResponse
from starlette.routing import Mount, Route

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository's packages

from tictactoe.serving.wsgi import WsgiInLoop

HEARTBEAT_SECONDS = 15  # as the game's live pages
ROOM = {"room_id": "floor", "status": "your_turn", "legal_moves": list(range(9)), "version": 1}


def answer() -> ToolResult:
    return ToolResult(content="Your move.", structured_content=ROOM)


def floor_mcp() -> FastMCP:
    """The game's six tutorial tools by name and arguments, each answering the same static room."""
    mcp = FastMCP(name="Floor")

    @mcp.tool
    async def create_room(difficulty: str = "", opponent: str = "ai", name: str = "") -> ToolResult:
        return answer()

    @mcp.tool
    async def make_move(
        position: int, room_id: str = "", expected_version: int = 0, player_token: str = ""
    ) -> ToolResult:
        return answer()

    @mcp.tool
    async def send_chat(message: str, room_id: str = "", player_token: str = "") -> ToolResult:
        return answer()

    @mcp.tool
    async def get_room_state(room_id: str = "", player_token: str = "") -> ToolResult:
        return answer()

    @mcp.tool
    async def list_rooms() -> ToolResult:
        return ToolResult(content="No rooms.", structured_content={"rooms": [], "current_room": None})

    @mcp.tool
    async def get_help() -> ToolResult:
        return ToolResult(content="Play 0-8.", structured_content={"board": [[0, 1, 2], [3, 4, 5], [6, 7, 8]]})

    return mcp


class Rooms:
    """Each room's version and who waits for the next one: what a move changes and a watcher follows."""

    def __init__(self) -> None:
        self.versions: dict[str, int] = {}
        self.waiters: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Event]]] = {}
        self.lock = threading.Lock()

    def move(self, room_id: str) -> int:
        """A new version of `room_id`, every watcher woken (from any thread, as the game wakes them)."""
        with self.lock:
            version = self.versions[room_id] = self.versions.get(room_id, 0) + 1
            for loop, event in self.waiters.get(room_id, ()):
                loop.call_soon_threadsafe(event.set)
        return version

    async def changes(self, room_id: str) -> AsyncIterator[str]:
        """The room now and after every change, as server-sent events; a comment when quiet."""
        loop, changed = asyncio.get_running_loop(), asyncio.Event()
        with self.lock:
            self.waiters.setdefault(room_id, set()).add((loop, changed))
        try:
            yield "retry: 1000\n\n"
            yield self._event(room_id)
            while True:
                try:
                    await asyncio.wait_for(changed.wait(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    yield ": still here\n\n"
                    continue
                changed.clear()  # before the version is read: a move after this sets it again
                yield self._event(room_id)
        finally:
            with self.lock:
                self.waiters[room_id].discard((loop, changed))

    def _event(self, room_id: str) -> str:
        state = {**ROOM, "room_id": room_id, "version": self.versions.get(room_id, 0)}
        return f"data: {json.dumps(state)}\n\n"


def floor_flask(rooms: Rooms) -> Flask:
    """One trivial route of the REST move's shape (a path parameter, a JSON body in, JSON out), and rooms to play."""
    app = Flask(__name__)

    @app.get("/health")
    def health():
        return jsonify(status="ok")

    @app.post("/rooms")
    def create():
        room_id = secrets.token_urlsafe(16)
        return jsonify({**ROOM, "room_id": room_id, "links": {"watch": f"/watch/{room_id}"}}), 201

    @app.post("/rooms/<room_id>/move")
    def move(room_id: str):
        position = request.get_json()["position"]
        return jsonify({**ROOM, "room_id": room_id, "last_turn": {"you": position}, "version": rooms.move(room_id)})

    return app


def floor_app() -> Starlette:
    mcp, rooms = floor_mcp(), Rooms()
    sse, streamable = mcp.http_app(transport="sse"), mcp.http_app(transport="http")

    @contextlib.asynccontextmanager
    async def lifespan(app):
        async with sse.lifespan(app), streamable.lifespan(app):
            yield

    async def watch(request: Request) -> StreamingResponse:
        events = rooms.changes(request.path_params["room_id"])
        return StreamingResponse(events, media_type="text/event-stream", headers={"Cache-Control": "no-store"})

    return Starlette(
        routes=[
            Route("/sse", sse),
            Route("/messages/{rest:path}", sse),
            Route("/mcp", streamable),
            Route("/watch/{room_id}/events", watch, methods=["GET"]),
            Mount("/", WsgiInLoop(floor_flask(rooms))),
        ],
        lifespan=lifespan,
    )


if __name__ == "__main__":
    host, port = os.environ.get("HOST", "127.0.0.1"), int(os.environ.get("PORT", "7860"))
    uvicorn.run(floor_app(), host=host, port=port, http="h11", log_level="warning", timeout_graceful_shutdown=2)
