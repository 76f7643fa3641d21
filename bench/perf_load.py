"""The flat-out loads of bench/perf.py: MCP clients calling the six tutorial tools over one transport, and REST
moves; each measured over a window after a warm-up, with the CPU the server and this process spent in it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import time
from collections.abc import Awaitable, Callable

from bench.mcp_wire import SESSIONS, McpError, Session
from bench.raw_http import http_request
from bench.results import Results
from bench.server_process import cpu_seconds, waited_seconds
from bench.wire import Connection

MOVES = 3  # X's first three moves are always legal: no game ends before X's third move
CHAT = "Is that all you've got?"
REST_MOVE = "POST /rooms/<id>/move"
WIRE_ERRORS = (McpError, ConnectionError, EOFError, asyncio.IncompleteReadError)
MOVES_PER_ROOM = 5  # at most: X has five moves in a game (the floor's rooms never end, so it plays five too)
ROOMS_PER_SECOND = 1000  # rooms made before the REST window, per second of it: more than its moves can use up


class Window:
    """Where the clients record what they see: the warm-up's record until the measured window begins, another
    after it ends. Errors count from all three."""

    def __init__(self) -> None:
        self.records = [Results()]
        self.stop = asyncio.Event()

    @property
    def results(self) -> Results:
        return self.records[-1]

    async def measure(self, pid: int, warmup: float, seconds: float, during: contextlib.AbstractContextManager):
        """Wait out the warm-up, then measure `seconds` (less if the clients stop first) while `during` runs."""
        await asyncio.sleep(warmup)
        measured = Results()
        self.records.append(measured)
        server, waited = cpu_seconds(pid), waited_seconds(pid)
        own, start = time.process_time(), time.perf_counter()
        with during, contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.stop.wait(), seconds)
        measured.wall = time.perf_counter() - start
        measured.server_cpu = cpu_seconds(pid) - server if server is not None else None
        measured.bench_cpu = time.process_time() - own
        measured.server_waited = waited_seconds(pid) - waited if waited is not None else None
        self.records.append(Results())  # what finishes after the window is not counted
        self.stop.set()
        measured.errors = [error for record in self.records for error in record.errors]
        return measured


async def run(clients: list[Callable[[Window], Awaitable[None]]], pid: int, warmup: float, seconds: float, during):
    """Every client at once: the measured window's record."""
    window = Window()
    running = [asyncio.create_task(client(window)) for client in clients]
    try:
        return await window.measure(pid, warmup, seconds, during)
    finally:
        await asyncio.gather(*running)


async def mcp_load(port: int, pid: int, transport: str, count: int, warmup: float, seconds: float, during):
    """`count` sessions over `transport`, each playing games flat out."""
    sessions = await asyncio.gather(*(SESSIONS[transport].open(port) for _ in range(count)))
    try:
        clients = [games(session, transport, random.Random(n)) for n, session in enumerate(sessions)]
        return await run(clients, pid, warmup, seconds, during)
    finally:
        await asyncio.gather(*(session.close() for session in sessions))


def games(session: Session, transport: str, rng: random.Random) -> Callable[[Window], Awaitable[None]]:
    """A player of whole games, each its eight calls in the order a chat client makes them: the six tools."""

    async def play(window: Window) -> None:
        while not window.stop.is_set():
            room = await call(window, session, transport, "create_room", {})
            if room is None:
                continue
            about = {"room_id": room["room_id"]}
            await call(window, session, transport, "get_room_state", about)
            for _ in range(MOVES):
                room = await call(
                    window, session, transport, "make_move", {**about, "position": rng.choice(room["legal_moves"])}
                )
                if room is None:
                    break
            await call(window, session, transport, "send_chat", {**about, "message": CHAT})
            await call(window, session, transport, "list_rooms", {})
            await call(window, session, transport, "get_help", {})

    return play


async def call(window: Window, session: Session, transport: str, tool: str, arguments: dict) -> dict | None:
    """One tool call, timed: its structured content; None once the window has closed or the error is recorded."""
    if window.stop.is_set():
        return None
    start = time.perf_counter()
    try:
        result = await session.call(tool, arguments)
    except WIRE_ERRORS as error:
        window.results.errors.append(f"{transport} {tool}: {type(error).__name__}: {error}")
        return None
    window.results.latencies[transport, tool].append(time.perf_counter() - start)
    content = result.get("structuredContent") or {}
    if result.get("isError"):
        window.results.errors.append(f"{transport} {tool}: {content.get('error', {}).get('code', 'unknown')}")
        return None
    return content


async def rest_load(port: int, pid: int, count: int, warmup: float, seconds: float, during):
    """`count` clients making REST moves flat out in rooms made beforehand, a whole game in each."""
    rooms = await make_rooms(port, count, int(ROOMS_PER_SECOND * (warmup + seconds)))
    return await run([mover(port, rooms) for _ in range(count)], pid, warmup, seconds, during)


async def make_rooms(port: int, count: int, total: int) -> list[str]:
    """`total` new rooms' ids, made over REST by `count` clients at once."""
    made: list[str] = []

    async def maker() -> None:
        connection = Connection(port)
        while len(made) < total:
            made.append(json.loads((await connection.exchange(http_request("POST", "/rooms"))).body)["room_id"])
        connection.close()

    await asyncio.gather(*(maker() for _ in range(count)))
    return made


def mover(port: int, rooms: list[str]) -> Callable[[Window], Awaitable[None]]:
    """A client playing rooms from `rooms` to their end, one move a request; the window closes when none are left."""

    async def play(window: Window) -> None:
        connection = Connection(port)
        while rooms and not window.stop.is_set():
            path, legal = f"/rooms/{rooms.pop()}/move", list(range(9))
            for _ in range(MOVES_PER_ROOM):
                start = time.perf_counter()
                legal = await rest_move(connection, path, legal[0], window.results.errors)
                window.results.latencies["rest", REST_MOVE].append(time.perf_counter() - start)
                if not legal or window.stop.is_set():
                    break
        window.stop.set()
        connection.close()

    return play


async def rest_move(connection: Connection, path: str, position: int, errors: list[str]) -> list[int]:
    """One REST move: the legal moves after it (none once the game is over, or on an error, which is recorded)."""
    try:
        answer = await connection.exchange(http_request("POST", path, json.dumps({"position": position}).encode()))
    except WIRE_ERRORS as error:
        errors.append(f"rest {REST_MOVE}: {type(error).__name__}: {error}")
        return []
    if answer.status != 200:
        errors.append(f"rest {REST_MOVE}: HTTP {answer.status}")
        return []
    return json.loads(answer.body)["legal_moves"]
