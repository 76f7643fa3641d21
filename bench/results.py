"""What a benchmark run recorded: every call's latency and error, and each game as its player saw it; the client,
the scenario and the report all read or write it."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

FINAL = ("won", "lost", "draw")


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
    server_waited: float | None = None  # seconds its threads, summed, waited for a CPU (Linux)
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


def answered(results: Results) -> int:
    return sum(len(times) for times in results.latencies.values())


def rate(results: Results) -> float:
    """Answers a second over the measured window."""
    return answered(results) / results.wall if results.wall else 0.0


def best(rounds: list[Results]) -> Results:
    """The round that answered fastest (the one the machine disturbed least), with the errors of them all."""
    fastest = max(rounds, key=rate)
    fastest.errors = [error for measured in rounds for error in measured.errors]
    return fastest
