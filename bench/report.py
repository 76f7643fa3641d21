"""The printed report: latency percentiles by tool, phase and transport, alone against under load, then the
totals, CPU, memory per room and moves a second."""

from __future__ import annotations

import argparse
import statistics
from collections import Counter

from bench.client import PROBE_EVERY, REST_GET, TRANSPORTS
from bench.results import Results
from bench.scenario import BASELINE_GAMES
from bench.service_alone import STORE_GAMES

TOOLS = ("create_room", "get_room_state", "make_move", "send_chat", "get_game_history", "get_stats")


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
