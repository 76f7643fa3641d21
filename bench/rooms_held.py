"""What holding many rooms costs the server (bench/held_server.py): its memory (RSS) and bytes per room, the pause
of a full garbage collection, and REST moves' latency while the rooms are held, at each size in turn."""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from dataclasses import dataclass, field

from bench.perf_load import rest_move
from bench.raw_http import http_request
from bench.server_process import rss_kb, waited_seconds
from bench.wire import Connection

WARM_ROOMS = 200  # made first, for the figures of the server as started: the first rooms load code and fill caches
CONNECTIONS = 4  # the paced moves' connections


@dataclass
class Held:
    """The server holding `rooms` rooms."""

    rooms: int
    rss_kb: int
    collect_ms: float  # the median pause of a forced full collection
    objects: int  # objects the collector tracks
    fill_gcs_ms: list[float]  # the full collections Python made by itself while the rooms were made
    window_gcs_ms: list[float]  # and while the paced moves ran
    waiting: float | None  # the share of the paced moves' window its threads waited for a CPU
    latencies: list[float] = field(default_factory=list)  # seconds, each from when its move was due
    errors: list[str] = field(default_factory=list)

    def per_room(self, start: Held) -> tuple[float, float]:
        """Bytes of RSS and tracked objects each room added since `start`."""
        added = max(1, self.rooms - start.rooms)
        return (self.rss_kb - start.rss_kb) * 1024 / added, (self.objects - start.objects) / added


async def hook(port: int, path: str) -> dict:
    connection = Connection(port)
    try:
        return json.loads((await connection.exchange(http_request("POST", path))).body)
    finally:
        connection.close()


async def hold(port: int, pid: int, sizes: list[int], rate: float, seconds: float) -> list[Held]:
    """The server with WARM_ROOMS rooms, then with each of `sizes` in turn: its RSS, REST moves paced at `rate` a
    second for `seconds`, then forced full collections."""
    figures: list[Held] = []
    for size in [WARM_ROOMS, *sizes]:
        filled = await hook(port, f"/_bench/fill?rooms={size - (figures[-1].rooms if figures else 0)}")
        errors: list[str] = []
        waited = waited_seconds(pid)
        latencies = await paced_moves(port, filled["sample"], rate, seconds, errors)
        waiting = (waited_seconds(pid) - waited) / seconds if waited is not None else None
        collected = await hook(port, "/_bench/gc")
        held = Held(filled["rooms"], rss_kb(pid), collected["collect_ms"], collected["objects"],
                    filled["full_gcs_ms"], collected["full_gcs_ms"], waiting, latencies, errors)  # fmt: skip
        figures.append(held)
    return figures


async def paced_moves(port: int, rooms: list, rate: float, seconds: float, errors: list[str]) -> list[float]:
    """REST moves at `rate` a second for `seconds`, each room of `rooms` ([id, a free cell]) played to its end in
    turn; each move timed from when it was due, so that a pause counts against every move it held up."""
    latencies: list[float] = []
    start = time.perf_counter()

    async def client(offset: int) -> None:
        connection, room_id, cell = Connection(port), None, None
        for due in (start + (offset + n * CONNECTIONS) / rate for n in itertools.count()):
            if room_id is None and rooms:
                room_id, cell = rooms.pop()
            if due - start >= seconds or room_id is None:
                break
            await asyncio.sleep(due - time.perf_counter())
            legal = await rest_move(connection, f"/rooms/{room_id}/move", cell, errors)
            latencies.append(time.perf_counter() - due)
            room_id, cell = (room_id, legal[0]) if legal else (None, None)
        connection.close()

    await asyncio.gather(*(client(offset) for offset in range(CONNECTIONS)))
    return latencies
