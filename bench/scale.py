"""Throughput across stores and processes, side by side in one run: the same players flat out against memory x1,
Redis x1 and Redis x2 workers; and how long a move takes to reach the other player when the two are on different
processes (two replicas on one Redis).

.venv/bin/python bench/scale.py [--players 192] [--seconds 15] [--rounds 1] [--latency 0.3] [--samples 30]

The players are perf_load.py's, on mcp_wire.py's hand-written SSE clients (with two workers, half their POSTs
reach the worker that does not hold their stream and are relayed), and the fake Mistral runs in a process of its
own: on two cores, what the load costs must stay small beside what the server spends, or the load sets the pace.
With `--rounds`, the three setups are measured in turn that many times, and each shows its best round (as in
bench/perf.py), with every round's ratios beside.
Exits 1 if any call failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import multiprocessing
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository's packages

from fastmcp import Client
from fastmcp.client.messages import MessageHandler

from bench.bench import NO_LIMITS, redis_for
from bench.perf_load import mcp_load
from bench.report import percentiles
from bench.results import Results, best, rate
from bench.server_process import children, cpu_seconds, running_server, tree_cpu_seconds, wait_listening
from tests.fake_mistral import FakeMistral

SETUPS = (("memory", 1), ("redis", 1), ("redis", 2))
TOOLS = ("create_room", "get_room_state", "make_move", "send_chat", "list_rooms", "get_help")  # perf_load's game
WARMUP = 3.0  # seconds of load before the window is measured


def redis_cpu() -> float:
    """CPU time of the redis-servers this process started."""
    return sum(
        cpu_seconds(pid) or 0.0
        for pid in children(os.getpid())
        if Path(f"/proc/{pid}/comm").read_text().strip() == "redis-server"
    )


def serve_model(latency: float, pipe) -> None:
    fake = FakeMistral(delay=latency).start()
    pipe.send(fake.url)
    pipe.recv()  # until told to stop
    fake.stop()


@contextlib.contextmanager
def model_process(latency: float) -> Iterator[str]:
    """The fake Mistral in a process of its own (its threads would share this one's GIL with the players): its URL."""
    here, there = multiprocessing.Pipe()
    process = multiprocessing.get_context("fork").Process(target=serve_model, args=(latency, there), daemon=True)
    process.start()
    try:
        yield here.recv()
    finally:
        here.send("stop")
        process.join(timeout=10)


def run_setup(store: str, workers: int, args: argparse.Namespace) -> tuple[Results, float]:
    """The players flat out against one setup: what they saw (with the server's CPU), and the CPU Redis spent."""
    print(f"{store} x{workers}...", file=sys.stderr)
    with (
        tempfile.TemporaryDirectory() as folder,
        redis_for(store, folder) as redis,
        model_process(args.latency) as model,
        running_server(
            MISTRAL_API_KEY="bench-key", MISTRAL_SERVER_URL=model, MISTRAL_MODEL="fake-model",
            REDIS_URL=redis.url if redis is not None else "", WORKERS=str(workers), **NO_LIMITS,
        ) as server,
    ):  # fmt: skip
        wait_listening(server.port, workers)
        spent = Spent(server.process.pid)
        load = mcp_load(server.port, server.process.pid, "sse", args.players, WARMUP, args.seconds, spent)
        results = asyncio.run(load)
        results.server_cpu = spent.app  # every worker's, where perf_load counts the first process's
        return results, spent.redis


class Spent:
    """The CPU the server's processes and Redis spend while it is entered."""

    def __init__(self, pid: int):
        self.pid = pid

    def __enter__(self) -> Spent:
        self.app, self.redis = -tree_cpu_seconds(self.pid), -redis_cpu()
        return self

    def __exit__(self, *exc) -> None:
        self.app += tree_cpu_seconds(self.pid)
        self.redis += redis_cpu()


class Heard(MessageHandler):
    """When each move.made reached this client."""

    def __init__(self) -> None:
        self.moves: asyncio.Queue[float] = asyncio.Queue()

    async def on_logging_message(self, message) -> None:
        if message.params.data.get("event") == "move.made":
            self.moves.put_nowait(time.perf_counter())


async def news_latency(url_a: str, url_b: str, samples: int) -> list[float]:
    """Seconds from a move's call on one replica to the other player's notification on the other, `samples` times."""
    took: list[float] = []
    heard = {url_a: Heard(), url_b: Heard()}
    quiet = {"log_handler": ignore}  # the notifications are timed, not printed
    async with (
        Client(f"{url_a}/sse", message_handler=heard[url_a], **quiet) as ann,
        Client(f"{url_b}/sse", message_handler=heard[url_b], **quiet) as ben,
    ):
        while len(took) < samples:
            room = (await ann.call_tool("create_room", {"opponent": "human"})).structured_content
            joined = (await ben.call_tool("join_room", {"room_id": room["room_id"]})).structured_content
            players = {room["your_mark"]: (ann, heard[url_b]), joined["your_mark"]: (ben, heard[url_a])}
            for number, position in enumerate((4, 0, 8, 2, 6)):  # X wins on 2-4-6: no draw, no early end
                mover, other = players["XO"[number % 2]]
                started = time.perf_counter()
                await mover.call_tool("make_move", {"room_id": room["room_id"], "position": position})
                took.append(await asyncio.wait_for(other.moves.get(), 5) - started)
    return took[:samples]


async def ignore(message) -> None:
    """A log handler that shows nothing."""


def notification_latency(samples: int) -> list[float]:
    print("notification latency across replicas...", file=sys.stderr)
    with (
        tempfile.TemporaryDirectory() as folder,
        redis_for("redis", folder) as redis,
        running_server(REDIS_URL=redis.url, **NO_LIMITS) as a,
        running_server(REDIS_URL=redis.url, **NO_LIMITS) as b,
    ):
        return asyncio.run(news_latency(a.url, b.url, samples))


def fastest(rounds: list[tuple[Results, float]]) -> tuple[Results, float]:
    """A setup's best round, with the CPU Redis spent in it, and the errors of every round."""
    chosen = best([results for results, _ in rounds])
    return next(measured for measured in rounds if measured[0] is chosen)


def ratios(runs: dict[str, tuple[Results, float]]) -> tuple[float, float]:
    """Redis x1 against memory x1, and Redis x2 against Redis x1, in calls a second."""
    memory, single, double = (rate(results) for results, _ in runs.values())
    return single / memory, double / single


def table(runs: dict[str, tuple[Results, float]], rounds: list[dict], news: list[float]) -> str:
    """Side by side, each setup's best round (`runs`, of `rounds`): calls/s, p50/p95 per tool, CPU per 1,000 calls;
    then the ratios (and every round's) and the news latency."""
    names = list(runs)
    lines = [f"{'':<26}" + "".join(f"{name:>18}" for name in names), f"{'calls/s':<26}" + "".join(
        f"{rate(results):>18.1f}" for results, _ in runs.values())]  # fmt: skip
    for tool in TOOLS:
        cells = []
        for results, _ in runs.values():
            times = [t for (transport, called), ts in results.latencies.items() if called == tool for t in ts]
            figures = percentiles(times)
            cells.append(f"{figures[0]:.0f} / {figures[1]:.0f}" if figures else "-")
        lines.append(f"{tool + ' p50/p95 ms':<26}" + "".join(f"{cell:>18}" for cell in cells))
    cpu = []
    for results, redis in runs.values():
        per = 1000 / results.calls
        cpu.append(f"{results.server_cpu * per:.1f} + {redis * per:.1f}")
    lines.append(f"{'CPU s/1000 calls (app+redis)':<26}" + "".join(f"{cell:>18}" for cell in cpu))
    single, double = ratios(runs)
    each = "; ".join(f"{a:.2f} / {b:.2f}" for a, b in map(ratios, rounds))
    lines += [
        "",
        f"redis x1 / memory x1: {single:.2f}; redis x2 / redis x1: {double:.2f}"
        + (f" (each round's, the same two: {each})" if len(rounds) > 1 else ""),
        f"a move to the other player's notification, across two replicas ({len(news)} moves): "
        f"p50 {statistics.median(news) * 1000:.1f} ms, p95 {percentiles(news)[1]:.1f} ms",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--players", type=int, default=192, help="players at once (default 192)")
    parser.add_argument("--seconds", type=float, default=15, help="seconds measured per setup (default 15)")
    parser.add_argument("--rounds", type=int, default=1, help="times each setup is measured, in turn (default 1)")
    parser.add_argument("--latency", type=float, default=0.3, help="fake Mistral latency in seconds (default 0.3)")
    parser.add_argument("--samples", type=int, default=30, help="moves timed for the news latency (default 30)")
    args = parser.parse_args(argv)
    rounds = [{f"{store} x{workers}": run_setup(store, workers, args) for store, workers in SETUPS}
              for _ in range(args.rounds)]  # fmt: skip
    runs = {name: fastest([measured[name] for measured in rounds]) for name in rounds[0]}
    news = notification_latency(args.samples)
    print(
        f"{args.players} SSE players flat out for {args.seconds:g} s (after {WARMUP:g} s; the best of "
        f"{args.rounds}), fake Mistral {args.latency * 1000:.0f} ms; {os.cpu_count()} cores\n"
    )
    print(table(runs, rounds, news))
    errors = [error for results, _ in runs.values() for error in results.errors]  # every round's
    for error in errors[:10]:
        print(f"  error: {error}")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
