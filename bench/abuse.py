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
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run as a script: the repository's packages

from bench.attacks import ATTACKS, Attack
from bench.honest import HONEST_PACE, PATIENCE, honest_player, new_room
from bench.raw_http import INITIALIZE
from bench.server_process import rss_kb, running_server
from bench.session_memory import memory_report
from bench.tally import Tally
from tests import servers

WARMUP = 2.0  # seconds the honest player plays alone on each new server before an attack begins

__all__ = ["ATTACKS", "HONEST_PACE", "INITIALIZE", "PATIENCE", "Tally", "failures", "run_attack"]  # what the tests use


async def run_attack(server: servers.Served, attack: Attack, seconds: float) -> tuple[Tally, Tally, int, dict]:
    """`attack` for `seconds` beside the honest player: what the attacker got, what the honest player got, the
    server's RSS growth in KB (at its peak during the attack), and the room the attack aimed at."""
    target = await new_room(server.url)
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


async def calm(port: int, target: dict, stop: asyncio.Event, tally: Tally) -> None:
    """No attack: the honest player alone."""
    await stop.wait()


async def main_async(names: list[str], seconds: float, sessions: int) -> int:
    if sessions:
        for line in await memory_report(sessions):
            print(line, flush=True)
    bad = 0
    for name in names:
        # A server of its own for each attack: what one spent (the attacker's MCP sessions for the minute, say) is
        # not the next one's to start from.
        with running_server(LOG_LEVEL="warning", **HONEST_PACE) as server:
            await run_attack(server, calm, WARMUP)  # the honest player's first calls, unhurried, go uncounted
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
