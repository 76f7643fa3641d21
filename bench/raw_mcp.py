"""An MCP client over streamable HTTP written by hand, on one keep-alive connection: a load generator whose own CPU
stays small beside the server's (fastmcp's client spends about twice the server's CPU on each call, so on two cores
it, not the server, would set the pace), and the players of the scale benchmark that use it."""

from __future__ import annotations

import asyncio
import json
import random
import time

from bench.raw_http import INITIALIZE, http_request
from bench.results import FINAL, Game, Results

HEADERS = "Accept: application/json, text/event-stream\r\nMcp-Protocol-Version: 2025-11-25\r\n"


class RawClient:
    """One connection to /mcp on `port`: initialize, then tools/call, each answer read whole."""

    def __init__(self, port: int):
        self.port = port
        self.session = ""  # the Mcp-Session-Id header line, where the server keeps sessions
        self.numbers = iter(range(2, 10**9))

    async def __aenter__(self) -> RawClient:
        self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        _, headers, _ = await self._post(INITIALIZE)
        if "mcp-session-id" in headers:
            self.session = f"Mcp-Session-Id: {headers['mcp-session-id']}\r\n"
        await self._post({"jsonrpc": "2.0", "method": "notifications/initialized"})
        return self

    async def __aexit__(self, *exc) -> None:
        self.writer.close()

    async def call(self, tool: str, arguments: dict) -> dict:
        """A tool's structured content (with `isError` beside it when it is a tool error)."""
        message = {"jsonrpc": "2.0", "id": next(self.numbers), "method": "tools/call",
                   "params": {"name": tool, "arguments": arguments}}  # fmt: skip
        status, _, body = await self._post(message)
        if status != 200:
            raise ConnectionError(f"HTTP {status}: {body[:200]!r}")
        result = json.loads(body)["result"] if body.startswith(b"{") else _event(body)["result"]
        return {**result.get("structuredContent", {}), "isError": result.get("isError", False)}

    async def _post(self, message: dict) -> tuple[int, dict[str, str], bytes]:
        self.writer.write(http_request("POST", "/mcp", json.dumps(message).encode(), HEADERS + self.session))
        status = int((await self.reader.readline()).split()[1])
        headers = {}
        while (line := await self.reader.readline()) != b"\r\n":
            name, _, value = line.decode("latin-1").partition(":")
            headers[name.strip().lower()] = value.strip()
        if "content-length" in headers:
            return status, headers, await self.reader.readexactly(int(headers["content-length"]))
        return status, headers, await _chunked(self.reader) if headers.get("transfer-encoding") == "chunked" else b""


async def _chunked(reader: asyncio.StreamReader) -> bytes:
    chunks = []
    while size := int((await reader.readline()).split(b";")[0], 16):
        chunks.append(await reader.readexactly(size))
        await reader.readline()
    await reader.readline()
    return b"".join(chunks)


def _event(body: bytes) -> dict:
    """The JSON-RPC answer in a server-sent event."""
    return json.loads(next(line[5:] for line in body.splitlines() if line.startswith(b"data:")))


async def timed(client: RawClient, tool: str, arguments: dict, results: Results) -> dict | None:
    start = time.perf_counter()
    try:
        answer = await client.call(tool, arguments)
    except (ConnectionError, OSError, ValueError, KeyError) as error:
        results.errors.append(f"raw {tool}: {type(error).__name__}: {error}")
        return None
    results.latencies["http", tool].append(time.perf_counter() - start)
    if answer["isError"]:
        results.errors.append(f"raw {tool}: {answer.get('error', {}).get('code')}")
        return None
    return answer


async def play(client: RawClient, results: Results, rng: random.Random) -> None:
    """One game, as bench/scenario.py's players play it, flat out: create, look and move until it ends (chatting
    once), then its history and the scores."""
    game = Game("http")
    results.games.append(game)
    state = await timed(client, "create_room", {}, results)
    while state is not None:
        room = {"room_id": state["room_id"]}
        state = await timed(client, "get_room_state", room, results)
        if state is None or state["status"] != "your_turn":
            break
        state = await timed(client, "make_move", {"position": rng.choice(state["legal_moves"]), **room}, results)
        if state is not None and len(state["moves"]) <= 2:
            await timed(client, "send_chat", {"message": "Is that all you've got?", **room}, results)
    game.status = state["status"] if state is not None else "error"
    if game.status in FINAL:
        await timed(client, "get_game_history", room, results)
        await timed(client, "get_stats", {}, results)


async def players(port: int, count: int, games: int) -> Results:
    """`count` players at once, each on its own connection, `games` games each."""
    results = Results()

    async def player(number: int) -> None:
        async with RawClient(port) as client:
            for _ in range(games):
                await play(client, results, random.Random(number))

    start = time.perf_counter()
    await asyncio.gather(*(player(number) for number in range(count)))
    results.wall = time.perf_counter() - start
    return results
