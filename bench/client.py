"""The benchmark's side of the wire: an MCP client over each transport, each tool call timed, and the REST reads
a page polling would make."""

from __future__ import annotations

import itertools
import ssl
import threading
import time

from fastmcp import Client
from fastmcp.client.transports import SSETransport, StreamableHttpTransport

from bench.results import Results
from tests import servers

TRANSPORTS = {"sse": (SSETransport, "/sse"), "http": (StreamableHttpTransport, "/mcp")}
TLS = ssl.create_default_context()  # shared: each client building its own costs ~40 ms of CPU (the CA bundle)
REST_GET = "GET /rooms/<id>"
PROBE_EVERY = 0.02  # seconds between REST reads: a page polling, not a flood


def connect(url: str, transport: str) -> Client:
    """A client for the server at `url` over `transport` ("sse" or "http")."""
    kind, path = TRANSPORTS[transport]
    return Client(kind(f"{url}{path}", verify=TLS))


async def call(client: Client, transport: str, tool: str, args: dict, results: Results) -> dict | None:
    """One tool call, timed: its structured content, or None once the error is recorded."""
    start = time.perf_counter()
    try:
        result = await client.call_tool(tool, args, raise_on_error=False)
    except Exception as error:  # noqa: BLE001  (a benchmark counts every failure, whatever its kind)
        results.errors.append(f"{transport} {tool}: {type(error).__name__}: {error}")
        return None
    results.latencies[transport, tool].append(time.perf_counter() - start)
    if result.is_error:
        code = (result.structured_content or {}).get("error", {}).get("code", "unknown")
        results.errors.append(f"{transport} {tool}: {code}")
        return None
    return result.structured_content


def probe_rest(url: str, results: Results, stop: threading.Event) -> None:
    """GET the rooms in play in turn until `stop`: REST reads while the MCP players wait on the model."""
    _, own = servers.http("POST", f"{url}/rooms")
    for probe in itertools.count():
        if stop.wait(PROBE_EVERY):
            return
        rooms = [own["room_id"]] + [game.room_id for game in results.games if game.room_id]
        room_id = rooms[probe % len(rooms)]
        start = time.perf_counter()
        try:
            status, _ = servers.http("GET", f"{url}/rooms/{room_id}")
        except OSError as error:
            results.errors.append(f"rest {REST_GET}: {type(error).__name__}: {error}")
            continue
        results.latencies["rest", REST_GET].append(time.perf_counter() - start)
        if status != 200:
            results.errors.append(f"rest {REST_GET}: HTTP {status}")
