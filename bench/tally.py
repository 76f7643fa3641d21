"""What each side of an attack saw, counted the same way for the attacker and the honest player."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field


@dataclass
class Tally:
    """What one side saw: answers by status (or error), and how long each honest call took."""

    answers: Counter = field(default_factory=Counter)
    times: list[float] = field(default_factory=list)

    def worst(self) -> float:
        return max(self.times, default=0.0)
