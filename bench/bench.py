"""Benchmark the real server: MCP players over SSE and streamable HTTP against a slow fake Mistral, REST reads
meanwhile, and the memory one room takes; on the memory store or on SQLite (--store sqlite).

.venv/bin/python bench/bench.py [--sse 64] [--http 16] [--latency 0.3] [--games 1] [--think 1] [--rooms 2000]
                                [--store memory|sqlite]

Exits 1 if any call failed, any game did not finish or the engine had to step in for Mistral.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import itertools
import random
import ssl
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter, defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from fastmcp import Client
from fastmcp.client.transports import SSETransport, StreamableHttpTransport

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository's packages

from bench.server_process import cpu_seconds, running_server
from tests import servers
from tests.fake_mistral import FakeMistral
from tictactoe.opponent import Opponent
from tictactoe.rooms import CHAT_KEPT, Room
from tictactoe.service import MESSAGE_LIMIT, GameService
from tictactoe.store import RoomStore, SqliteRoomStore

FINAL = ("won", "lost", "draw")
MAX_TURNS = 5  # X plays at most five moves in a game
BASELINE_GAMES = 3  # one game gives too few calls for a stable median
PROBE_EVERY = 0.02  # seconds between REST reads: a page polling, not a flood
TRANSPORTS = {"sse": (SSETransport, "/sse"), "http": (StreamableHttpTransport, "/mcp")}
TLS = ssl.create_default_context()  # shared: each client building its own costs ~40 ms of CPU (the CA bundle)
TOOLS = ("create_room", "get_room_state", "make_move", "send_chat", "get_game_history", "get_stats")
REST_GET = "GET /rooms/<id>"
STORE_GAMES = 300  # games per store for the moves-a-second figure
# Every player of the benchmark calls from 127.0.0.1: lift the per-client limits, which would count them as one.
NO_LIMITS = {
    **{f"RATE_LIMIT_{action}": "0" for action in ("CREATE", "MOVE", "CHAT", "SESSION")},
    **{f"MAX_{share}_PER_CLIENT": "100000" for share in ("CONNECTIONS", "REQUESTS", "SESSIONS", "VIEWERS")},
    "MAX_ROOMS": "100000",
}


@dataclass
class Game:
    """One game as its player saw it."""

    transport: str
    room_id: str = ""
    turns: list[tuple[int, int | None]] = field(default_factory=list)  # accepted moves: (yours, the reply or None)
    engine_replies: int = 0  # replies the engine chose because the Mistral call failed
    status: str = ""

    @property
    def finished(self) -> bool:
        return self.status in FINAL


@dataclass
class Results:
    """Every call's latency in seconds by (transport, tool), the errors, and the games played."""

    latencies: defaultdict[tuple[str, str], list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: list[str] = field(default_factory=list)
    games: list[Game] = field(default_factory=list)
    wall: float = 0.0
    model_calls: int = 0  # requests the fake Mistral received
    server_cpu: float | None = None  # seconds of CPU the server process used (Linux)
    bench_cpu: float = 0.0  # seconds of CPU this process used: the clients, the prober and the fake Mistral

    @property
    def calls(self) -> int:
        """MCP calls answered (the REST probe's reads are counted apart)."""
        return sum(len(times) for (transport, _), times in self.latencies.items() if transport != "rest")

    @property
    def finished(self) -> int:
        return sum(game.finished for game in self.games)

    @property
    def engine_replies(self) -> int:
        return sum(game.engine_replies for game in self.games)

    @property
    def clean(self) -> bool:
        """Every call answered, every game finished, every reply Mistral's."""
        return not self.errors and self.finished == len(self.games) and not self.engine_replies


@contextlib.contextmanager
def serving(latency: float, store: str = "memory") -> Iterator[tuple[servers.Served, FakeMistral]]:
    """A fake Mistral answering after `latency` s and the real server using it, its rooms in `store` (memory, or
    sqlite in a temporary file); all gone on the way out."""
    fake = FakeMistral(delay=latency).start()
    try:
        with (
            tempfile.TemporaryDirectory() as folder,
            running_server(
                MISTRAL_API_KEY="bench-key",
                MISTRAL_SERVER_URL=fake.url,
                MISTRAL_MODEL="fake-model",
                ROOMS_DB=f"{folder}/rooms.db" if store == "sqlite" else "",
                **NO_LIMITS,
            ) as server,
        ):
            yield server, fake
    finally:
        fake.stop()


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
    calls, server_cpu, bench_cpu = len(fake.requests), cpu_seconds(server.process.pid), time.process_time()
    results = asyncio.run(run_load(server.url, sse, http, games, think))
    results.model_calls = len(fake.requests) - calls
    if server_cpu is not None:
        results.server_cpu = cpu_seconds(server.process.pid) - server_cpu
    results.bench_cpu = time.process_time() - bench_cpu
    return results


def store_throughput(kind: str, games: int = STORE_GAMES) -> float:
    """Moves a second through the service alone (no HTTP), on the memory store or on SQLite in a temporary file."""
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteRoomStore(f"{folder}/rooms.db") if kind == "sqlite" else RoomStore()
        service = GameService(Opponent(None, random.Random(5)), store=store)
        loop, rng, moves = asyncio.new_event_loop(), random.Random(6), 0
        start = time.perf_counter()
        for _ in range(games):
            moves += loop.run_until_complete(play_out(service, service.create_room("easy"), rng))
        elapsed = time.perf_counter() - start
        loop.close()
        if isinstance(store, SqliteRoomStore):
            store.close()
    return moves / elapsed


def bytes_per_room(count: int = 2000, worst: bool = False) -> float:
    """Bytes one room holds (tracemalloc): `count` rooms played to the end, with two chat messages or a full chat."""
    service = GameService(Opponent(None, random.Random(7)))
    loop = asyncio.new_event_loop()  # made before tracing starts, so the loop's own memory is not counted
    try:
        gc.collect()
        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        loop.run_until_complete(fill_rooms(service, count, worst))
        gc.collect()
        used = tracemalloc.get_traced_memory()[0] - before
        tracemalloc.stop()
    finally:
        loop.close()
    return used / count


async def play_out(service: GameService, room: Room, rng: random.Random) -> int:
    """Random legal moves until the game ends; how many the human made."""
    moves = 0
    while room.status() == "your_turn":
        await service.play(room.id, rng.choice(room.board.legal_moves()))
        moves += 1
    return moves


async def fill_rooms(service: GameService, count: int, worst: bool) -> None:
    rng = random.Random(1)
    for i in range(count):
        room = service.create_room()
        await play_out(service, room, rng)
        if worst:
            fill_chat(room, i)
        else:
            for text in (f"Good luck! ({i})", f"Well played. ({i})"):
                await service.chat(room.id, text)


def fill_chat(room: Room, number: int) -> None:
    """The chat at its kept maximum of longest lines: an upper bound, as the opponent's lines are shorter."""
    with room.lock:
        for line in range(CHAT_KEPT):
            # Distinct strings, as requests bring them; the emoji makes CPython store 4 bytes a character.
            room.say("you", f"{number}-{line} 🤖 ".ljust(MESSAGE_LIMIT, "x"))


def percentiles(times: list[float]) -> tuple[float, float, float] | None:
    """p50, p95 and p99 in milliseconds, or None without data."""
    if len(times) < 2:
        return (times[0] * 1000,) * 3 if times else None
    cuts = statistics.quantiles(times, n=100, method="inclusive")
    return cuts[49] * 1000, cuts[94] * 1000, cuts[98] * 1000


def p50(results: Results, transport: str, tool: str) -> float | None:
    figures = percentiles(results.latencies.get((transport, tool), []))
    return figures[0] if figures else None


def latency_rows(phase: str, results: Results) -> list[str]:
    rows = []
    for transport, tool in [(t, tool) for t in TRANSPORTS for tool in TOOLS] + [("rest", REST_GET)]:
        times = results.latencies.get((transport, tool), [])
        if times:
            figures = "".join(f"{figure:>9.1f}" for figure in percentiles(times))
            rows.append(f"{tool:<17}{phase:<10}{transport:<6}{len(times):>7}{figures}")
    return rows


def comparison_rows(baseline: Results, load: Results, latency: float) -> list[str]:
    """p50 alone and under load; the SSE player alone is the baseline for both MCP transports."""
    rows = []
    pairs = [(t, tool) for tool in ("get_room_state", "make_move") for t in TRANSPORTS] + [("rest", REST_GET)]
    for transport, tool in pairs:
        alone, loaded = p50(baseline, "rest" if transport == "rest" else "sse", tool), p50(load, transport, tool)
        delta = "-" if alone is None or loaded is None else f"{loaded - alone:+.1f}"
        rows.append(f"{f'{tool} ({transport})':<34}{ms(alone):>9}{ms(loaded):>9}{delta:>9}")
    rows.append(f"{'model latency (fake Mistral)':<34}{latency * 1000:>9.1f}")
    return rows


def ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def cpu_line(load: Results) -> str:
    server = "-" if load.server_cpu is None else f"{load.server_cpu:.2f} s ({100 * load.server_cpu / load.wall:.0f}%)"
    return (
        f"CPU in the load (% of one core over its wall time): server {server}; "
        f"this process (clients, prober, fake Mistral) {load.bench_cpu:.2f} s ({100 * load.bench_cpu / load.wall:.0f}%)"
    )


def report(
    args: argparse.Namespace, baseline: Results, load: Results, typical: float, worst: float, stores: dict[str, float]
) -> str:
    """The plain-text report: fixed-width tables, then the totals."""
    share = 100 * load.finished / len(load.games) if load.games else 0.0
    errors = Counter(baseline.errors + load.errors)
    lines = [
        "Tic-tac-toe server benchmark",
        f"load: {args.sse} SSE + {args.http} streamable-HTTP players at once, {args.games} game(s) each; "
        f"rooms in {args.store}; "
        f"fake Mistral latency {args.latency * 1000:.0f} ms; "
        + (f"players pause {args.think:g} s on average before each call" if args.think else "players call flat out"),
        f"baseline: 1 SSE player alone, {BASELINE_GAMES} games; REST probe: one GET every {PROBE_EVERY * 1000:.0f} ms",
        "",
        f"{'latency (ms)':<17}{'phase':<10}{'via':<6}{'count':>7}{'p50':>9}{'p95':>9}{'p99':>9}",
        *latency_rows("baseline", baseline),
        *latency_rows("load", load),
        "",
        f"{'p50 (ms)':<34}{'baseline':>9}{'load':>9}{'delta':>9}",
        *comparison_rows(baseline, load, args.latency),
        "",
        f"total calls (MCP, load): {load.calls} in {load.wall:.2f} s wall = {load.calls / load.wall:.1f} calls/s "
        f"({len(load.latencies.get(('rest', REST_GET), []))} REST reads beside)",
        f"model calls (load): {load.model_calls}; opponent moves the engine chose after a failed call: "
        f"{load.engine_replies}",
        cpu_line(load),
        f"games finished: {load.finished}/{len(load.games)} ({share:.1f}%)",
        f"errors: {sum(errors.values())}",
        *(f"  {count} x {error}" for error, count in errors.most_common(10)),
        f"bytes per room (tracemalloc, {args.rooms} rooms): typical {typical:,.0f}; worst {worst:,.0f}",
        "  typical: one finished game, 2 chat messages; worst: one finished game, the chat full of longest lines",
        f"moves a second through the service alone ({STORE_GAMES} games at easy): "
        + "; ".join(f"{kind} {rate:,.0f}" for kind, rate in stores.items()),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sse", type=int, default=64, help="SSE players (default 64)")
    parser.add_argument("--http", type=int, default=16, help="streamable-HTTP players (default 16)")
    parser.add_argument("--latency", type=float, default=0.3, help="fake Mistral latency in seconds (default 0.3)")
    parser.add_argument("--games", type=int, default=1, help="games per player (default 1)")
    parser.add_argument(
        "--think", type=float, default=1.0, help="seconds a player pauses before each call, on average; 0: flat out"
    )
    parser.add_argument("--rooms", type=int, default=2000, help="rooms for the bytes-per-room figure (default 2000)")
    parser.add_argument(
        "--store", choices=("memory", "sqlite"), default="memory", help="the server's rooms (default memory)"
    )
    args = parser.parse_args(argv)
    with serving(args.latency, args.store) as (server, fake):
        print(f"server at {server.url}: baseline...", file=sys.stderr)
        baseline = measure(server, fake, 1, 0, BASELINE_GAMES)
        print(f"load: {args.sse + args.http} players...", file=sys.stderr)
        load = measure(server, fake, args.sse, args.http, args.games, args.think)
    print("bytes per room...", file=sys.stderr)
    typical, worst = bytes_per_room(args.rooms), bytes_per_room(args.rooms, worst=True)
    print("each store...", file=sys.stderr)
    stores = {kind: store_throughput(kind) for kind in ("memory", "sqlite")}
    print(report(args, baseline, load, typical, worst, stores))
    return 0 if baseline.clean and load.clean else 1


if __name__ == "__main__":
    sys.exit(main())
