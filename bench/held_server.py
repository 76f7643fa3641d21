"""The real server (mcp_server.py, as configured by the environment) with hooks only bench/perf.py calls, under
/_bench/: fill the store with rooms, and time a full garbage collection in the server's own process. Filling
over HTTP would take minutes for 100,000 rooms; here each room is made as POST /rooms and one POST /rooms/<id>/move
make it, through the same service, so the store holds what it would. Python's own full collections are timed too.

.venv/bin/python bench/held_server.py   # then POST /_bench/fill?rooms=N, POST /_bench/gc
"""

from __future__ import annotations

import gc
import random
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository's packages

from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

import mcp_server
from tictactoe.services.games import GameService
from tictactoe.serving.asgi import build_asgi, serve
from tictactoe.serving.logs import configure_logging

COLLECTIONS = 3  # forced full collections timed each time: their median is the figure
SAMPLE = 5000  # rooms at most handed back from a fill, with a free cell each, for moves while they are held


class FullCollections:
    """The full (generation 2) collections Python makes by itself, each timed, forced ones left out."""

    def __init__(self) -> None:
        self.pauses: list[float] = []  # seconds, since last taken
        self.forcing = False
        self._started = 0.0
        gc.callbacks.append(self._note)

    def _note(self, phase: str, info: dict) -> None:
        if info["generation"] != 2 or self.forcing:
            return
        if phase == "start":
            self._started = time.perf_counter()
        else:
            self.pauses.append(time.perf_counter() - self._started)

    def taken(self) -> list[float]:
        """The pauses in ms since the last call."""
        pauses, self.pauses = self.pauses, []
        return [pause * 1000 for pause in pauses]

    def forced(self) -> list[float]:
        """COLLECTIONS full collections, each timed in ms."""
        self.forcing, timings = True, []
        try:
            for _ in range(COLLECTIONS):
                start = time.perf_counter()
                gc.collect()
                timings.append((time.perf_counter() - start) * 1000)
        finally:
            self.forcing = False
        return timings


class Hooks:
    """/_bench/fill and /_bench/gc in front of the server; everything else goes to it untouched."""

    def __init__(self, app: ASGIApp, service: GameService):
        self.app, self.service = app, service
        self.collections = FullCollections()
        self.rng = random.Random(3)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/_bench/"):
            await self.app(scope, receive, send)
            return
        request = Request(scope, receive)
        if scope["path"] == "/_bench/fill":
            answer = await self.fill(int(request.query_params["rooms"]))
        else:
            timings = self.collections.forced()
            answer = {"collect_ms": statistics.median(timings), "objects": len(gc.get_objects())}
        await JSONResponse({**answer, "full_gcs_ms": self.collections.taken()})(scope, receive, send)

    async def fill(self, count: int) -> dict:
        """`count` new rooms with one move each, as a REST client makes them; the last few with a free cell."""
        sample = []
        for number in range(count):
            room = self.service.create_room()
            await self.service.play(room.id, self.rng.randrange(9), via="rest")
            if count - number <= SAMPLE and room.board.legal_moves():
                sample.append([room.id, room.board.legal_moves()[0]])
        return {"rooms": len(self.service.rooms), "sample": sample}


if __name__ == "__main__":
    configure_logging(mcp_server.settings.log_level)  # as mcp_server.main does: importing fastmcp added handlers
    app = build_asgi(mcp_server.mcp, mcp_server.flask_app, mcp_server.service, mcp_server.settings)
    serve(Hooks(app, mcp_server.service), mcp_server.settings)
