"""One hostile client against an honest player, on a real server: each attack in turn, from 127.0.0.2, while the
honest player plays from 127.0.0.3 (the whole 127.0.0.0/8 range is loopback, so the two are different clients).

.venv/bin/python bench/abuse.py [--seconds 6] [--attack NAME ...] [--sessions 1000]

First it measures the memory one open MCP session (SSE, streamable HTTP) and one live-page stream take. Then, for
each attack, it prints what the attacker got, the honest player's calls and their worst latency, and how much
the server's memory (RSS) grew. Exits 1 if the honest player ever waited 3 s or more, or any of its calls failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx2
from fastmcp import Client
from fastmcp.client.transports import SSETransport
from fastmcp.exceptions import ToolError

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository's packages

from bench.server_process import rss_kb, running_server
from tests import servers

ATTACKER, HONEST = "127.0.0.2", "127.0.0.3"
PATIENCE = 3.0  # seconds the honest player waits for any answer: the promise is that it never has to
PACE = 0.1  # seconds between the honest player's calls
# The honest player is a fast bot: a game every second or so, a move every few tenths. That is more than the rate
# limits allow one client (20 rooms, 120 moves a minute), which no attack here relies on: lift those two.
HONEST_PACE = {"RATE_LIMIT_CREATE": "0", "RATE_LIMIT_MOVE": "0"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "flood", "version": "1"}},
}


@dataclass
class Tally:
    """What one side saw: answers by status (or error), and how long each honest call took."""

    answers: Counter = field(default_factory=Counter)
    times: list[float] = field(default_factory=list)

    def worst(self) -> float:
        return max(self.times, default=0.0)


async def connect(port: int) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", port, local_addr=(ATTACKER, 0))


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


def http_request(method: str, path: str, body: bytes = b"", extra: str = "") -> bytes:
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{extra}"
    if body:
        head += f"Content-Length: {len(body)}\r\n"
    return head.encode() + b"\r\n" + body


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
    body = json.dumps(INITIALIZE).encode()
    accept = "Accept: application/json, text/event-stream\r\n"
    await flood(port, stop, tally, lambda: http_request("POST", "/mcp", body, accept), workers=16)


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
    reader, writer = await connect(port)
    writer.write(http_request("GET", "/sse"))
    announced = b""
    while b"session_id=" not in announced or not announced.endswith(b"\r\n"):
        announced += await reader.readline()
    path = "/messages/?session_id=" + announced.split(b"session_id=")[1].split()[0].decode()
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


def honest_http(**kwargs) -> httpx2.AsyncClient:
    """An HTTP client that calls from the honest player's address, within the player's patience."""
    transport = httpx2.AsyncHTTPTransport(local_address=HONEST)
    return httpx2.AsyncClient(transport=transport, timeout=httpx2.Timeout(PATIENCE), **kwargs)


async def timed(tally: Tally, label: str, call: Awaitable) -> object:
    await asyncio.sleep(PACE)
    started = time.monotonic()
    try:
        result = await call
    except (httpx2.HTTPError, TimeoutError, RuntimeError, ToolError) as error:  # fastmcp wraps transport errors
        tally.answers[f"{label}: {type(error).__name__}"] += 1
        tally.times.append(time.monotonic() - started)
        return None
    tally.times.append(time.monotonic() - started)
    tally.answers[f"{label}: ok"] += 1
    return result


async def honest_player(url: str, stop: asyncio.Event, tally: Tally) -> None:
    """Play whole games, over REST and over MCP (SSE), from HONEST until `stop`; every call timed."""
    factory = lambda headers=None, timeout=None, auth=None: honest_http(headers=headers, auth=auth)  # noqa: E731
    async with honest_http() as rest, Client(SSETransport(f"{url}/sse", httpx_client_factory=factory)) as mcp:
        while not stop.is_set():
            created = await timed(tally, "REST", rest.post(f"{url}/rooms", json={"difficulty": "easy"}))
            room = created.json() if created is not None and created.status_code == 201 else None
            while room is not None and room["legal_moves"] and not stop.is_set():
                moved = await timed(
                    tally,
                    "REST",
                    rest.post(f"{url}/rooms/{room['room_id']}/move", json={"position": room["legal_moves"][0]}),
                )
                room = moved.json() if moved is not None and moved.status_code == 200 else None
            made = await timed(tally, "MCP", mcp.call_tool("create_room", {"difficulty": "easy"}, timeout=PATIENCE))
            state = made.structured_content if made is not None else None
            while state is not None and state["legal_moves"] and not stop.is_set():
                played = mcp.call_tool("make_move", {"position": state["legal_moves"][0]}, timeout=PATIENCE)
                result = await timed(tally, "MCP", played)
                state = result.structured_content if result is not None else None


async def run_attack(server: servers.Served, attack: Attack, seconds: float) -> tuple[Tally, Tally, int, dict]:
    """`attack` for `seconds` beside the honest player: what the attacker got, what the honest player got, the
    server's RSS growth in KB (at its peak during the attack), and the room the attack aimed at."""
    async with honest_http() as rest:
        target = (await rest.post(f"{server.url}/rooms")).json()
    target["base"] = server.url
    before = peak = rss_kb(server.process.pid)
    stop = asyncio.Event()
    attacker, honest = Tally(), Tally()
    attacking = asyncio.create_task(attack(server.port, target, stop, attacker))
    await asyncio.sleep(min(1.0, seconds / 4))  # let the attack build up first
    playing = asyncio.create_task(honest_player(server.url, stop, honest))
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        await asyncio.sleep(0.25)
        peak = max(peak, rss_kb(server.process.pid))
    stop.set()
    await asyncio.gather(attacking, playing)
    return attacker, honest, peak - before, target


async def open_sse_session(port: int, address: str, held: list) -> None:
    """An SSE stream from `address`, initialized as a client does, and kept (in `held`) until closed."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))
    writer.write(http_request("GET", "/sse"))
    announced = b""
    while b"session_id=" not in announced or not announced.endswith(b"\r\n"):
        announced += await reader.readline()
    session = announced.split(b"session_id=")[1].split()[0].decode()
    body = json.dumps(INITIALIZE).encode()
    poster, post = await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))
    post.write(http_request("POST", f"/messages/?session_id={session}", body))
    await poster.readline()
    post.close()
    held.append(writer)


async def open_http_session(port: int, address: str, held: list) -> None:
    """A streamable-HTTP session made by `initialize` from `address` (it lives on until it idles out)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))
    accept = "Accept: application/json, text/event-stream\r\n"
    writer.write(http_request("POST", "/mcp", json.dumps(INITIALIZE).encode(), accept))
    assert (await reader.readline()).startswith(b"HTTP/1.1 200")
    writer.close()


async def open_viewer(port: int, address: str, held: list, *, path: str) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port, local_addr=(address, 0))
    writer.write(http_request("GET", path))
    assert (await reader.readline()).startswith(b"HTTP/1.1 200")
    held.append(writer)


async def memory_per(server: servers.Served, count: int, opener: Callable[[str, list], Awaitable[None]]) -> float:
    """The server's RSS growth, in KB, per one of `count` things `opener` opens (from many addresses, a few each,
    so that no client's share is reached)."""
    held: list = []
    before = rss_kb(server.process.pid)
    for start in range(0, count, 100):
        batch = range(start, min(count, start + 100))
        await asyncio.gather(*(opener(f"127.0.{2 + n // 250}.{1 + n % 250}", held) for n in batch))
    await asyncio.sleep(1)
    grown = (rss_kb(server.process.pid) - before) / count
    for writer in held:
        writer.close()
    return grown


async def memory_report(count: int) -> list[str]:
    """Memory per open MCP session (each transport) and per live-page stream, each on a server of its own (a
    server's RSS does not shrink, so one measurement would hide in the room freed by another)."""
    lines = []
    for what in ("SSE session", "streamable-HTTP session", "live-page stream"):
        with running_server(LOG_LEVEL="warning") as server:
            if what == "SSE session":
                opener = partial(open_sse_session, server.port)
            elif what == "streamable-HTTP session":
                opener = partial(open_http_session, server.port)
            else:
                async with honest_http() as rest:
                    room = (await rest.post(f"{server.url}/rooms")).json()
                path = room["links"]["watch"].removeprefix(server.url) + "/events"
                opener = partial(open_viewer, server.port, path=path)
            kb = await memory_per(server, count, opener)
        lines.append(f"memory per {what}: {kb:.1f} KB (RSS growth over {count} open at once)")
    return lines


def failures(honest: Tally) -> int:
    return sum(count for label, count in honest.answers.items() if not label.endswith(": ok"))


def report_line(name: str, attacker: Tally, honest: Tally, grown_kb: int) -> str:
    got = ", ".join(f"{label} {count}" for label, count in attacker.answers.most_common(4))
    failed = [f"{label} {count}" for label, count in honest.answers.items() if not label.endswith(": ok")]
    calls = len(honest.times)
    return (
        f"{name:<17} honest: {calls:>4} calls, worst {honest.worst() * 1000:>6.0f} ms, {failures(honest)} failed"
        f" | RSS +{grown_kb / 1024:>6.1f} MB | attacker got: {got}"
        + (f" | honest failures: {failed}" if failed else "")
    )


async def main_async(names: list[str], seconds: float, sessions: int) -> int:
    if sessions:
        for line in await memory_report(sessions):
            print(line, flush=True)
    with running_server(LOG_LEVEL="warning", **HONEST_PACE) as server:
        bad = 0
        for name in names:
            attacker, honest, grown, _ = await run_attack(server, ATTACKS[name], seconds)
            print(report_line(name, attacker, honest, grown), flush=True)
            bad += failures(honest) > 0 or honest.worst() >= PATIENCE or not honest.times
        return 1 if bad else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="how long each attack runs")
    parser.add_argument("--attack", nargs="*", choices=sorted(ATTACKS), default=list(ATTACKS))
    parser.add_argument("--sessions", type=int, default=1000, help="sessions and streams opened to measure memory")
    args = parser.parse_args(argv)
    return asyncio.run(main_async(args.attack, args.seconds, args.sessions))


if __name__ == "__main__":
    sys.exit(main())
