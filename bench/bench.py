"""Benchmark the real server: MCP players over SSE and streamable HTTP against a slow fake Mistral, REST reads
meanwhile, and the memory one room takes; on the memory store, on SQLite (--store sqlite) or on a Redis it starts
(--store redis, with --workers N processes on the one port).

.venv/bin/python bench/bench.py [--sse 64] [--http 16] [--latency 0.3] [--games 1] [--think 1] [--rooms 2000]
                                [--store memory|sqlite|redis] [--workers 1]

Exits 1 if any call failed, any game did not finish or the engine had to step in for Mistral.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository's packages

from bench.client import connect
from bench.report import report
from bench.scenario import BASELINE_GAMES, measure, run_load
from bench.server_process import running_server, wait_listening
from bench.service_alone import bytes_per_room, store_throughput
from tests import servers
from tests.fake_mistral import FakeMistral
from tests.redis_server import RedisServer

__all__ = ["connect", "run_load", "serving"]  # what tests/test_load.py drives the server with

# Every player of the benchmark calls from 127.0.0.1: lift the per-client limits, which would count them as one.
NO_LIMITS = {
    **{f"RATE_LIMIT_{action}": "0" for action in ("CREATE", "MOVE", "CHAT", "SESSION")},
    **{f"MAX_{share}_PER_CLIENT": "100000" for share in ("CONNECTIONS", "REQUESTS", "SESSIONS", "VIEWERS")},
    "MAX_ROOMS": "100000",
}


@contextlib.contextmanager
def serving(latency: float, store: str = "memory", workers: int = 1) -> Iterator[tuple[servers.Served, FakeMistral]]:
    """A fake Mistral answering after `latency` s and the real server using it, in `workers` processes, its rooms
    in `store` (memory; sqlite in a temporary file; or redis, a redis-server of its own); all gone on the way out."""
    fake = FakeMistral(delay=latency).start()
    try:
        with (
            tempfile.TemporaryDirectory() as folder,
            redis_for(store, folder) as redis,
            running_server(
                MISTRAL_API_KEY="bench-key",
                MISTRAL_SERVER_URL=fake.url,
                MISTRAL_MODEL="fake-model",
                ROOMS_DB=f"{folder}/rooms.db" if store == "sqlite" else "",
                REDIS_URL=redis.url if redis is not None else "",
                WORKERS=str(workers),
                **NO_LIMITS,
            ) as server,
        ):
            wait_listening(server.port, workers)
            yield server, fake
    finally:
        fake.stop()


@contextlib.contextmanager
def redis_for(store: str, folder: str) -> Iterator[RedisServer | None]:
    """A redis-server in `folder` if the store is redis, stopped on the way out; else None."""
    if store != "redis":
        yield None
        return
    redis = RedisServer(Path(folder) / "redis")
    try:
        yield redis
    finally:
        redis.stop()


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
        "--store", choices=("memory", "sqlite", "redis"), default="memory", help="the server's rooms (default memory)"
    )
    parser.add_argument("--workers", type=int, default=1, help="server processes, with --store redis (default 1)")
    args = parser.parse_args(argv)
    with serving(args.latency, args.store, args.workers) as (server, fake):
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
