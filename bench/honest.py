"""The honest player: whole games over REST and MCP (SSE) from its own address (HONEST), every call timed
against the patience it is promised."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable

import httpx2
from fastmcp import Client
from fastmcp.client.transports import SSETransport
from fastmcp.exceptions import ToolError

from bench.tally import Tally

HONEST = "127.0.0.3"
PATIENCE = 3.0  # seconds the honest player waits for any answer: the promise is that it never has to
PACE = 0.1  # seconds between the honest player's calls

# The honest player is a fast bot: a game every second or so, a move every few tenths. That is more than the rate
# limits allow one client (20 rooms, 120 moves a minute), which no attack here relies on: lift those two.
HONEST_PACE = {"RATE_LIMIT_CREATE": "0", "RATE_LIMIT_MOVE": "0"}


def honest_http(**kwargs) -> httpx2.AsyncClient:
    """An HTTP client that calls from the honest player's address, within the player's patience."""
    transport = httpx2.AsyncHTTPTransport(local_address=HONEST)
    return httpx2.AsyncClient(transport=transport, timeout=httpx2.Timeout(PATIENCE), **kwargs)


async def new_room(url: str) -> dict:
    """A room made over REST by the honest player's client: the room an attack aims at, or a stream watches."""
    async with honest_http() as rest:
        return (await rest.post(f"{url}/rooms")).json()


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
