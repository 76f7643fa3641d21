"""The server memory one open MCP session (SSE, streamable HTTP) and one live-page stream take: many opened at
once, the growth of the server's RSS divided among them."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from functools import partial

from bench.honest import new_room
from bench.raw_http import INITIALIZE, INITIALIZE_REQUEST, http_request, open_from, open_sse_stream
from bench.server_process import rss_kb, running_server
from tests import servers


async def open_sse_session(port: int, address: str, held: list) -> None:
    """An SSE stream from `address`, initialized as a client does, and kept (in `held`) until closed."""
    writer, path = await open_sse_stream(port, address)
    poster, post = await open_from(port, address)
    post.write(http_request("POST", path, json.dumps(INITIALIZE).encode()))
    await poster.readline()
    post.close()
    held.append(writer)


async def open_http_session(port: int, address: str, held: list) -> None:
    """A streamable-HTTP session made by `initialize` from `address` (it lives on until it idles out)."""
    reader, writer = await open_from(port, address)
    writer.write(INITIALIZE_REQUEST)
    assert (await reader.readline()).startswith(b"HTTP/1.1 200")
    writer.close()


async def open_viewer(port: int, address: str, held: list, *, path: str) -> None:
    reader, writer = await open_from(port, address)
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
                room = await new_room(server.url)
                path = room["links"]["watch"].removeprefix(server.url) + "/events"
                opener = partial(open_viewer, server.port, path=path)
            kb = await memory_per(server, count, opener)
        lines.append(f"memory per {what}: {kb:.1f} KB (RSS growth over {count} open at once)")
    return lines
