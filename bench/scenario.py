"""What the simulated players do: chat-model pauses, whole games over MCP, and the load phases (one player alone,
then many at once) with what each cost the server and this process."""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time

from fastmcp import Client

from bench.client import call, connect, probe_rest
from bench.results import FINAL, Game, Results
from bench.server_process import tree_cpu_seconds
from tests import servers
from tests.fake_mistral import FakeMistral

MAX_TURNS = 5  # X plays at most five moves in a game
BASELINE_GAMES = 3  # one game gives too few calls for a stable median


async def pause(rng: random.Random, think: float) -> None:
    """A chat model composing its next call: `think` s on average (0.5-1.5 times, so players drift apart)."""
    if think:
        await asyncio.sleep(rng.uniform(0.5, 1.5) * think)


async def play_game(client: Client, transport: str, results: Results, rng: random.Random, think: float) -> None:
    """create_room (Mistral moves), then get_room_state and make_move until the game ends, chatting once; then
    the game's history and the scores, as a player looking back would."""
    game = Game(transport)
    results.games.append(game)
    await pause(rng, think)
    state = await call(client, transport, "create_room", {"difficulty": ""}, results)
    if state is None:
        game.status = "error"
        return
    game.room_id = state["room_id"]
    # Streamable HTTP keeps no session between calls, so those players name the room; SSE uses the current one.
    room = {"room_id": game.room_id} if transport == "http" else {}
    for _ in range(MAX_TURNS + 1):  # the last look shows the finished board
        await pause(rng, think)
        state = await call(client, transport, "get_room_state", room, results)
        if state is None or state["status"] != "your_turn":
            break
        position = rng.choice(state["legal_moves"])
        await pause(rng, think)
        state = await call(client, transport, "make_move", {"position": position, **room}, results)
        if state is None:
            break
        reply = state["last_turn"]["opponent"]
        game.turns.append((position, reply))
        if reply is not None and state["moves"][-1]["by"] == "engine":
            game.engine_replies += 1
        if len(game.turns) == 1:
            await pause(rng, think)
            await call(client, transport, "send_chat", {"message": "Is that all you've got?", **room}, results)
    game.status = state["status"] if state is not None else "error"
    if game.status in FINAL:
        await pause(rng, think)
        await call(client, transport, "get_game_history", {"room_id": game.room_id}, results)
        await pause(rng, think)
        await call(client, transport, "get_stats", {}, results)


async def player(
    client: Client, transport: str, games: int, results: Results, rng: random.Random, think: float
) -> None:
    for _ in range(games):
        await play_game(client, transport, results, rng, think)


async def run_load(url: str, sse: int, http: int, games: int = 1, think: float = 0.0, seed: int = 0) -> Results:
    """`sse` + `http` players at once, one client each, each playing `games` games, with REST reads meanwhile.

    With `think`, each player pauses that long on average before each call, as a chat model does between tool
    calls; without, every player calls flat out, a stress test of throughput rather than of players.
    """
    results = Results()
    transports = ["sse"] * sse + ["http"] * http
    async with contextlib.AsyncExitStack() as stack:
        clients = [await stack.enter_async_context(connect(url, t)) for t in transports]
        stop = threading.Event()
        prober = threading.Thread(target=probe_rest, args=(url, results, stop), name="rest-probe", daemon=True)
        start = time.perf_counter()
        prober.start()
        try:
            await asyncio.gather(
                *(
                    player(client, transport, games, results, random.Random(seed + i), think)
                    for i, (client, transport) in enumerate(zip(clients, transports, strict=True))
                )
            )
        finally:
            results.wall = time.perf_counter() - start
            stop.set()
            prober.join()
    return results


def measure(server: servers.Served, fake: FakeMistral, sse: int, http: int, games: int, think: float = 0.0) -> Results:
    """run_load, with the model calls it caused and the CPU time each side spent."""
    calls, server_cpu, bench_cpu = len(fake.requests), tree_cpu_seconds(server.process.pid), time.process_time()
    results = asyncio.run(run_load(server.url, sse, http, games, think))
    results.model_calls = len(fake.requests) - calls
    if server_cpu is not None:
        results.server_cpu = tree_cpu_seconds(server.process.pid) - server_cpu
    results.bench_cpu = time.process_time() - bench_cpu
    return results
