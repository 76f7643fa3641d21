"""The printed figures of bench/perf.py: the server beside its floor, the ratio, and each goal beside its figure."""

from __future__ import annotations

import argparse
from collections import Counter
from dataclasses import dataclass, field

from bench.perf_load import REST_MOVE
from bench.report import percentiles
from bench.results import Results, answered, rate
from bench.rooms_held import Held

MB = 1024  # KB
TRANSPORT_NAMES = {"sse": "SSE", "http": "streamable HTTP"}
HELD_GOAL = 100_000  # the rooms the memory and collection goals are set for


@dataclass
class Figures:
    """Everything one run measured: (the server's, the floor's) for each load."""

    mcp: dict[str, tuple[Results, Results]] = field(default_factory=dict)  # by transport
    rest: tuple[Results, Results] | None = None
    streams: dict[int, tuple[list[float], list[float]]] = field(default_factory=dict)  # by watchers
    held: list[Held] = field(default_factory=list)

    def errors(self) -> Counter:
        runs = [run for pair in [*self.mcp.values(), *([self.rest] if self.rest else [])] for run in pair]
        return Counter([error for run in runs for error in run.errors] + [e for h in self.held for e in h.errors])


def goal(met: bool, words: str) -> str:
    return f"{words}: {'met' if met else 'NOT MET'}"


def cpu_ms(results: Results, cpu: float | None) -> float | None:
    """CPU milliseconds per answer."""
    return None if cpu is None or not answered(results) else 1000 * cpu / answered(results)


def share(seconds: float | None, wall: float) -> str:
    """`seconds` as a share of `wall`: of one core's time."""
    return "-" if seconds is None or not wall else f"{100 * seconds / wall:.0f}%"


def row(label: str, server: object, floor: object, ratio: str = "", note: str = "") -> str:
    figures = [
        "-" if value is None else value if isinstance(value, str) else f"{value:.2f}" for value in (server, floor)
    ]
    return f"{label:<40}{figures[0]:>11}{figures[1]:>11}{ratio:>9}  {note}"


def load_rows(label: str, server: Results, floor: Results, least: float, unit: str) -> list[str]:
    """The rate against the floor's, with the goal; the server's CPU per answer, and what that rate would be with a
    whole core (what the rate shows on a quiet machine); how busy the server was, and how long its threads waited for
    a CPU (others' processes or its own threads had it: high, and the rate says more of the machine than of the
    server); the client's own CPU."""
    ratio = rate(server) / rate(floor) if rate(floor) else 0.0
    cpu = [cpu_ms(server, server.server_cpu), cpu_ms(floor, floor.server_cpu)]
    whole = [1000 / ms if ms else None for ms in cpu]
    busy = [f"{share(r.server_cpu, r.wall)} / {share(r.server_waited, r.wall)}" for r in (server, floor)]
    return [
        row(f"{label}: {unit}/s", f"{rate(server):.1f}", f"{rate(floor):.1f}", f"{ratio:.3f}x",
            goal(ratio >= least, f">= {least}x the floor")),
        row("  server CPU per answer (ms)", *cpu),
        row(f"  {unit}/s per CPU-second of the server", *whole, f"{whole[0] / whole[1]:.3f}x" if all(whole) else ""),
        row("  server on a CPU / threads waiting for one", *busy),
        row("  load client CPU per answer (ms)", cpu_ms(server, server.bench_cpu), cpu_ms(floor, floor.bench_cpu)),
    ]  # fmt: skip


def stream_rows(streams: dict[int, tuple[list[float], list[float]]]) -> list[str]:
    """Each number of watchers: p50/p99 of a move's delay to them, the server's and the bare app's."""
    rows = [row("a move reaching page streams, p50/p99 ms", "server", "bare app", "p99")]
    for watchers, (server, floor) in sorted(streams.items()):
        (s50, _, s99), (f50, _, f99) = percentiles(server), percentiles(floor)
        met = goal(s99 <= 1.2 * f99, "p99 <= 1.2x the bare app") if watchers == max(streams) else ""
        label = f"  {watchers} watcher(s), {len(server)} deliveries"
        rows.append(row(label, f"{s50:.1f}/{s99:.1f}", f"{f50:.1f}/{f99:.1f}", f"{s99 / f99:.3f}x", met))
    return rows


def held_rows(held: list[Held]) -> list[str]:
    """A column for each number of rooms, the server as started first; the goals beside the largest."""
    start, last = held[0], held[-1]
    sizes = [f"{h.rooms:,}" for h in held]
    sizes[0] += " (as started)"
    added = [h.per_room(start) for h in held[1:]]
    tails = [tail(h.latencies) for h in held]
    p50, p99, _ = tails[-1]
    goals = "goals" if last.rooms == HELD_GOAL else f"goals (set for {HELD_GOAL:,} rooms)"
    return [
        columns("rooms held (one move each)", sizes, goals),
        columns("  server RSS (MB)", [f"{h.rss_kb / MB:.1f}" for h in held],
                goal(last.rss_kb <= 250 * MB, "<= 250 MB")),
        columns("  RSS per room added (bytes)", ["-", *(f"{size:,.0f}" for size, _ in added)]),
        columns("  objects the collector tracks", [f"{h.objects:,}" for h in held]),
        columns("  objects per room added", ["-", *(f"{objects:.1f}" for _, objects in added)]),
        columns("  full gc.collect() (ms, median of 3)", [f"{h.collect_ms:.1f}" for h in held],
                goal(last.collect_ms <= 50, "<= 50 ms")),
        columns("  REST move p50 / p99 / max (ms)", [f"{p50:.1f} / {p99:.1f} / {top:.0f}" for p50, p99, top in tails]),
        columns("  REST move p99 / p50", [f"{p99 / p50:.1f}x" if p50 else "-" for p50, p99, _ in tails],
                goal(bool(p50) and p99 <= 3 * p50, "p99 within 3x p50")),
        columns("  server threads waiting for a CPU", [share(h.waiting, 1.0) for h in held]),
        columns("  Python's own full GCs, filling", [pauses(h.fill_gcs_ms) for h in held]),
        columns("  Python's own full GCs, moving", [pauses(h.window_gcs_ms) for h in held]),
    ]  # fmt: skip


def columns(label: str, cells: list[str], note: str = "") -> str:
    return f"{label:<40}" + "".join(f"{cell:>20}" for cell in cells) + f"  {note}"


def tail(latencies: list[float]) -> tuple[float, float, float]:
    """p50, p99 and the longest, in ms; zeros without data."""
    figures = percentiles(latencies)
    return (figures[0], figures[2], 1000 * max(latencies)) if figures else (0.0, 0.0, 0.0)


def pauses(ms: list[float]) -> str:
    return f"{len(ms)}, longest {max(ms):.0f} ms" if ms else "none"


def perf_report(args: argparse.Namespace, figures: Figures) -> str:
    """The plain-text report: each load's server and floor side by side, then the page streams, the rooms held."""
    lines = [
        "Tic-tac-toe server against its floor (bench/perf.py; the floor: bench/floor.py)",
        f"MCP: {args.clients} sessions per transport, flat out, each game create_room, get_room_state, make_move x3, "
        f"send_chat, list_rooms, get_help (built-in engine); REST: {args.clients} clients making moves flat out",
        f"each load measured {args.seconds:g} s after {args.warmup:g} s of warm-up, best of {args.rounds} round(s)",
        "",
        row("", "server", "floor", "ratio", "goal"),
    ]
    for transport, (server, floor) in figures.mcp.items():
        lines += load_rows(f"MCP over {TRANSPORT_NAMES[transport]}", server, floor, 0.85, "calls")
    if figures.rest:
        lines += load_rows(f"REST {REST_MOVE}", *figures.rest, 0.75, "req")
    if figures.streams:
        lines += ["", *stream_rows(figures.streams)]
    if figures.held:
        paced = (
            f"REST moves while held: {args.rate:g}/s for {args.seconds:g} s, paced, each timed from when it was due; a "
            "full GC that Python makes in that window (the last row) holds every move for as long as its pause"
        )
        lines += ["", *held_rows(figures.held), paced]
    errors = figures.errors()
    lines += ["", f"errors: {sum(errors.values())}", *(f"  {n} x {error}" for error, n in errors.most_common(10))]
    return "\n".join(lines)
