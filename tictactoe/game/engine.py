"""The built-in opponent's move choice: easy (random), medium (wins and blocks), hard (perfect play)."""

from __future__ import annotations

import random
from functools import cache

from tictactoe.game.rules import EMPTY, WIN_LINES, Board, board_of, other

DIFFICULTIES = ("easy", "medium", "hard")


@cache
def _value(cells: tuple[str, ...]) -> int:
    """Minimax value for the side to move: > 0 wins (sooner is larger), 0 draws, < 0 loses."""
    board = board_of(cells)
    outcome = board.outcome()
    if outcome is not None:
        return 0 if outcome.winner is None else -(1 + cells.count(EMPTY))
    return max(-_value(board.push(move).cells) for move in board.legal_moves())


def best_moves(board: Board) -> list[int]:
    """Every move that keeps the best result for the side to move."""
    scored = {move: -_value(board.push(move).cells) for move in board.legal_moves()}
    top = max(scored.values())
    return [move for move, score in scored.items() if score == top]


def winning_cells(board: Board, mark: str) -> tuple[int, ...]:
    """Free cells that would complete a line for `mark`, in order."""
    return _winning_cells(board.cells, mark)


@cache
def _winning_cells(cells: tuple[str, ...], mark: str) -> tuple[int, ...]:
    """winning_cells, worked out once for each position and mark (a few thousand in all)."""
    return tuple(
        sorted(
            {i for line in WIN_LINES for i in line if cells[i] == EMPTY and sum(cells[j] == mark for j in line) == 2}
        )
    )


def choose_move(board: Board, difficulty: str, rng: random.Random) -> int:
    """The engine's move for the side to move at the given difficulty."""
    if difficulty == "hard":
        return rng.choice(best_moves(board))
    if difficulty == "medium":
        me = board.turn
        urgent = winning_cells(board, me) or winning_cells(board, other(me))
        if urgent:
            return rng.choice(urgent)
    return rng.choice(board.legal_moves())
