"""The rules of tic-tac-toe: a board value with one source of truth. No I/O, no third-party imports."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field

from tictactoe.game.errors import CellOccupied, GameOver, InvalidPosition

X, O, EMPTY = "X", "O", ""  # noqa: E741  (O is the mark's own name)
HUMAN, OPPONENT = X, O  # in a game against the opponent: the person moves first
CELLS = range(9)
# fmt: off
WIN_LINES: tuple[tuple[int, int, int], ...] = (
    (0, 1, 2), (3, 4, 5), (6, 7, 8),  # rows
    (0, 3, 6), (1, 4, 7), (2, 5, 8),  # columns
    (0, 4, 8), (2, 4, 6),             # diagonals
)
# fmt: on


def other(mark: str) -> str:
    return O if mark == X else X


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a finished game ended: a winner and its line, or a draw (winner None)."""

    winner: str | None
    line: tuple[int, int, int] | None


@dataclass(frozen=True, slots=True)
class Board:
    """Nine cells, left to right, top to bottom. X always moves first.

    A board is a value: `push` gives the one Board of each position (a few thousand in all), shared by every game
    at it, and what a position is (whose turn, how it ended) is worked out once, when its Board is made: a move
    asks it some forty times.
    """

    cells: tuple[str, ...] = (EMPTY,) * 9
    turn: str = field(init=False, compare=False)  # the side to move
    _result: Outcome | None = field(init=False, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "turn", X if self.cells.count(X) == self.cells.count(O) else O)
        object.__setattr__(self, "_result", _outcome(self.cells))

    def outcome(self) -> Outcome | None:
        """The result if the game is over, else None."""
        return self._result

    def is_over(self) -> bool:
        return self._result is not None

    def legal_moves(self) -> list[int]:
        if self.is_over():
            return []
        return [i for i in CELLS if self.cells[i] == EMPTY]

    def push(self, position: object) -> Board:
        """The board after the side to move plays `position`; raises if that is not a legal move."""
        if isinstance(position, bool) or not isinstance(position, int) or not 0 <= position <= 8:
            raise InvalidPosition(
                f"Position must be a whole number from 0 to 8, got {as_json(position)}. "
                f"Free cells: {_listing(self.legal_moves())}."
            )
        if self.is_over():
            raise GameOver("The game is over. Start a new one with create_room.")
        if self.cells[position] != EMPTY:
            raise CellOccupied(
                f"Cell {position} is taken by {self.cells[position]}. Pick a free cell: {_listing(self.legal_moves())}."
            )
        cells = list(self.cells)
        cells[position] = self.turn
        return board_of(tuple(cells))


@functools.cache
def board_of(cells: tuple[str, ...]) -> Board:
    """The one Board of these cells, shared by every game at that position."""
    return Board(cells)


def _outcome(cells: tuple[str, ...]) -> Outcome | None:
    for line in WIN_LINES:
        a, b, c = (cells[i] for i in line)
        if a != EMPTY and a == b == c:
            return Outcome(winner=a, line=line)
    if EMPTY not in cells:
        return Outcome(winner=None, line=None)
    return None


START = board_of((EMPTY,) * 9)  # the empty board every game begins from


def as_json(value: object) -> str:
    """A value as the client wrote it (true, "4", 4.5), cut short."""
    try:
        text = json.dumps(value)
    except (TypeError, ValueError):
        text = repr(value)
    return text if len(text) <= 40 else text[:39] + "…"


def _listing(moves: list[int]) -> str:
    return ", ".join(map(str, moves)) or "none"
