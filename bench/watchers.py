"""How long a move takes to reach the live pages watching its room: `watchers` spectators' event streams
(/watch/<id>/events) open on one room, a REST move made, and the time from sending it to each stream's next event."""

from __future__ import annotations

import asyncio
import json
import re
import time

from bench.perf_load import MOVES_PER_ROOM
from bench.raw_http import http_request
from bench.wire import Connection, EventStream, data_of, open_stream

VERSION = re.compile(rb'"version": ?(\d+)')  # read without parsing the whole room: the client must stay cheap


async def next_version(stream: EventStream) -> int:
    """The version of the next room the stream shows (retry lines and heartbeats skipped)."""
    while True:
        data = data_of(await stream.next())
        if data is not None:
            return int(VERSION.search(data).group(1))


async def reached(stream: EventStream, seen: int, final: asyncio.Future) -> float:
    """When the stream showed the first version after `seen`; it is then read up to the `final` one, so that the
    next move starts from streams that are all up to date."""
    version = seen
    while version <= seen:
        version = await next_version(stream)
    arrived = time.perf_counter()
    target = await final
    while version < target:
        version = await next_version(stream)
    return arrived


async def fan_out(port: int, watchers: int, moves: int) -> list[float]:
    """Seconds from a move's sending to each stream's seeing it, for `moves` moves in rooms of `watchers` streams
    (a new room, and new streams, once a game ends)."""
    rest, delays = Connection(port), []
    try:
        while len(delays) < moves * watchers:
            delays += await one_room(port, rest, watchers, moves - len(delays) // watchers)
    finally:
        rest.close()
    return delays


async def one_room(port: int, rest: Connection, watchers: int, moves: int) -> list[float]:
    """Up to `moves` moves in a new room watched by `watchers` streams: each stream's delay for each."""
    room = json.loads((await rest.exchange(http_request("POST", "/rooms"))).body)
    path = "/watch/" + room["links"]["watch"].rpartition("/watch/")[2] + "/events"
    opened = [await open_stream(port, http_request("GET", path)) for _ in range(watchers)]
    streams = [stream for stream, _ in opened]
    delays: list[float] = []
    try:
        seen = max([await next_version(stream) for stream in streams])  # the room as it was made, on every stream
        for _ in range(min(moves, MOVES_PER_ROOM)):
            final = asyncio.get_running_loop().create_future()
            arrivals = [asyncio.create_task(reached(stream, seen, final)) for stream in streams]
            await asyncio.sleep(0)  # every reader waiting before the move goes out
            sent = time.perf_counter()
            answer = await rest.exchange(
                http_request(
                    "POST", f"/rooms/{room['room_id']}/move", json.dumps({"position": room["legal_moves"][0]}).encode()
                )
            )
            room = json.loads(answer.body)
            final.set_result(room["version"])
            delays += [arrived - sent for arrived in await asyncio.gather(*arrivals)]
            seen = room["version"]
            if not room["legal_moves"]:
                break
    finally:
        for _, writer in opened:
            writer.close()
    return delays
