import random

import pytest

from tests.test_rules import board_of
from tictactoe.game.engine import best_moves, choose_move, winning_cells
from tictactoe.game.lines import LINES, situation
from tictactoe.game.rules import Board, O, X


def hard_results(board: Board) -> tuple[int, set[str | None]]:
    """Every game from `board` with X (the human) playing every move and `hard` playing every move it may choose.

    Returns how many games there are and the set of their winners (None for a draw).
    """
    outcome = board.outcome()
    if outcome is not None:
        return 1, {outcome.winner}
    replies = board.legal_moves() if board.turn == X else best_moves(board)
    games, winners = 0, set()
    for move in replies:
        n, w = hard_results(board.push(move))
        games, winners = games + n, winners | w
    return games, winners


def test_hard_never_loses_to_any_sequence_of_human_moves():
    games, winners = hard_results(Board())
    assert X not in winners
    assert winners == {O, None}  # it wins when the human blunders, draws otherwise
    assert games > 1000  # really every sequence, not a handful


@pytest.mark.parametrize("seed", range(20))
def test_hard_chooses_only_among_the_best_moves(seed):
    board = board_of("X........")
    assert choose_move(board, "hard", random.Random(seed)) == 4  # only the centre holds against a corner


def test_hard_wins_at_once_when_it_can():
    board = board_of("XX.OO.X..")  # O to move: 5 wins
    assert best_moves(board) == [5]


@pytest.mark.parametrize("seed", range(20))
def test_medium_takes_a_win_before_blocking(seed):
    board = board_of("XX.OO.X..")  # O can win at 5; X threatens 2
    assert choose_move(board, "medium", random.Random(seed)) == 5


@pytest.mark.parametrize("seed", range(20))
def test_medium_blocks_a_threat(seed):
    board = board_of("XX..O....")
    assert choose_move(board, "medium", random.Random(seed)) == 2


def test_easy_plays_only_legal_moves_and_varies():
    board = board_of("XX..O....")
    moves = {choose_move(board, "easy", random.Random(seed)) for seed in range(50)}
    assert moves <= set(board.legal_moves())
    assert len(moves) > 2


def test_winning_cells_finds_every_completing_cell():
    assert winning_cells(board_of("X.X.X...."), X) == (1, 6, 8)
    assert winning_cells(board_of("X.X.X...."), O) == ()


@pytest.mark.parametrize(
    ("board", "move", "kind"),
    [
        ("X........", 4, "opening"),
        ("XX..O....", 2, "block"),
        ("XX.OO.X..", 5, "win"),
        ("XOXXOOOX.", 8, "draw"),
        ("X...O...X", 1, "move"),
    ],
)
def test_situation_names_what_a_move_does(board, move, kind):
    assert situation(board_of(board), move) == kind
    assert LINES[kind]
