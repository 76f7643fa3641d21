"""The server against its floor: MCP calls a second and CPU per call on each transport, REST moves a second, a
move's delay to its live pages, and the memory and garbage-collection pause of many rooms held; each beside what
the same libraries manage with no game behind them (bench/floor.py), with the goals beside the figures.

.venv/bin/python bench/perf.py [--seconds 5] [--warmup 1] [--rounds 1] [--clients 16] [--watchers 1 32 64] [--moves 200]
                               [--rooms 10000 100000] [--rate 100] [--py-spy DIR]

The server runs as deployed (the built-in engine, rooms in memory, logging at info), its per-client limits lifted:
every client here calls from 127.0.0.1. Exits 1 if any call failed.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository's packages

from bench.bench import NO_LIMITS
from bench.perf_load import mcp_load, rest_load
from bench.perf_report import Figures, perf_report
from bench.profile import py_spy, recording, summary
from bench.results import Results, best
from bench.rooms_held import hold
from bench.server_process import running_server
from bench.watchers import fan_out
from tests import servers

MOST_ROOMS = 1_000_000  # the most MAX_ROOMS allows


async def against_floor(args: argparse.Namespace, server: servers.Served, floor: servers.Served) -> Figures:
    """Each load on the server, then at once on the floor, so that both see the machine as it is."""
    figures = Figures()

    async def both(load, *params, profile: str) -> tuple[Results, Results]:
        """The load on the server, then on the floor, `rounds` times: the best round of each, with every error."""
        rounds: tuple[list[Results], list[Results]] = ([], [])
        for number in range(args.rounds):
            sampling = sampled(args, server.process.pid, profile) if number == 0 else contextlib.nullcontext()
            rounds[0].append(await load(server.port, server.process.pid, *params, sampling))
            rounds[1].append(await load(floor.port, floor.process.pid, *params, contextlib.nullcontext()))
        return best(rounds[0]), best(rounds[1])

    for transport in ("sse", "http"):
        print(f"MCP over {transport}...", file=sys.stderr)
        load = (transport, args.clients, args.warmup, args.seconds)
        figures.mcp[transport] = await both(mcp_load, *load, profile=f"mcp-{transport}")
    print("REST moves...", file=sys.stderr)
    figures.rest = await both(rest_load, args.clients, args.warmup, args.seconds, profile="rest")
    for watchers in args.watchers:
        print(f"{watchers} page stream(s)...", file=sys.stderr)
        figures.streams[watchers] = (
            await fan_out(server.port, watchers, args.moves),
            await fan_out(floor.port, watchers, args.moves),
        )
    return figures


def sampled(args: argparse.Namespace, pid: int, load: str) -> contextlib.AbstractContextManager:
    """py-spy sampling the server through a load's window, if asked for."""
    if args.py_spy is None:
        return contextlib.nullcontext()
    return recording(pid, args.seconds, args.py_spy / f"{load}.txt")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0, help="each load's measured window (default 5)")
    parser.add_argument("--warmup", type=float, default=1.0, help="seconds of load before each window (default 1)")
    parser.add_argument("--rounds", type=int, default=1, help="each load's rounds, the best kept (default 1)")
    parser.add_argument("--clients", type=int, default=16, help="MCP sessions, or REST clients, at once (default 16)")
    parser.add_argument("--watchers", type=int, nargs="+", default=[1, 32, 64], help="page streams on one room")
    parser.add_argument("--moves", type=int, default=200, help="moves timed at each number of watchers (default 200)")
    parser.add_argument("--rooms", type=int, nargs="+", default=[10_000, 100_000], help="rooms held, in turn")
    parser.add_argument("--rate", type=float, default=100.0, help="REST moves a second while they are held")
    parser.add_argument("--py-spy", type=Path, help="sample the server with py-spy during each load, into this folder")
    args = parser.parse_args(argv)
    if args.py_spy is not None:
        if py_spy() is None:
            parser.error("--py-spy: py-spy is not installed (pip install py-spy)")
        args.py_spy.mkdir(parents=True, exist_ok=True)
    with running_server(**NO_LIMITS) as server, running_server("bench/floor.py") as floor:
        figures = asyncio.run(against_floor(args, server, floor))
    print("rooms held...", file=sys.stderr)
    most = str(min(MOST_ROOMS, 2 * max(args.rooms)))
    quiet = {"LOG_LEVEL": "warning"}  # a line for each of the rooms would only slow the filling down
    with running_server("bench/held_server.py", **{**NO_LIMITS, "MAX_ROOMS": most, **quiet}) as held:
        figures.held = asyncio.run(hold(held.port, held.process.pid, sorted(args.rooms), args.rate, args.seconds))
    print(perf_report(args, figures))
    for profile in sorted(args.py_spy.glob("*.txt")) if args.py_spy else []:
        print(f"\nwhere the server's CPU goes ({profile.stem}, py-spy):", *summary(profile), sep="\n")
    return 1 if figures.errors() else 0


if __name__ == "__main__":
    sys.exit(main())
