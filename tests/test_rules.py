import pytest

from tictactoe.game.errors import CellOccupied, GameOver, InvalidPosition
from tictactoe.game.rules import EMPTY, WIN_LINES, Board, O, Outcome, X


def board_of(text: str) -> Board:
    """A board from 9 characters: X, O or . for empty."""
    return Board(tuple(EMPTY if c == "." else c for c in text))


@pytest.mark.parametrize("line", WIN_LINES)
@pytest.mark.parametrize("mark", [X, O])
def test_every_line_wins_for_either_mark(line, mark):
    cells = [EMPTY] * 9
    for i in line:
        cells[i] = mark
    assert Board(tuple(cells)).outcome() == Outcome(winner=mark, line=line)


def test_there_are_eight_win_lines():
    assert sorted(WIN_LINES) == [(0, 1, 2), (0, 3, 6), (0, 4, 8), (1, 4, 7), (2, 4, 6), (2, 5, 8), (3, 4, 5), (6, 7, 8)]


def test_full_board_without_a_line_is_a_draw():
    board = board_of("XOXXOOOXX")
    assert board.outcome() == Outcome(winner=None, line=None)
    assert board.legal_moves() == []


def test_game_in_progress_has_no_outcome_and_lists_free_cells():
    board = board_of("X...O....")
    assert board.outcome() is None
    assert board.legal_moves() == [1, 2, 3, 5, 6, 7, 8]


def test_x_moves_first_and_turns_alternate():
    board = Board()
    assert board.turn == X
    board = board.push(4)
    assert board.turn == O
    assert board.push(0).turn == X


def test_push_returns_a_new_board_and_leaves_the_old_one():
    before = Board()
    after = before.push(4)
    assert before.cells == (EMPTY,) * 9
    assert after.cells[4] == X


def test_a_win_ends_the_game_even_with_free_cells():
    board = board_of("XXXOO....")
    assert board.legal_moves() == []
    with pytest.raises(GameOver, match="The game is over"):
        board.push(8)


def test_occupied_cell_is_refused_with_the_free_cells():
    with pytest.raises(CellOccupied) as caught:
        board_of("X...O....").push(4)
    assert caught.value.message == "Cell 4 is taken by O. Pick a free cell: 1, 2, 3, 5, 6, 7, 8."
    assert caught.value.code == "cell_occupied"


@pytest.mark.parametrize(
    ("position", "shown"),
    [(-1, "-1"), (9, "9"), ("4", '"4"'), (4.5, "4.5"), (4.0, "4.0"), (True, "true"), (None, "null"), ([4], "[4]")],
)
def test_positions_that_are_not_cells_are_refused(position, shown):
    with pytest.raises(InvalidPosition) as caught:
        Board().push(position)
    assert caught.value.message == (
        f"Position must be a whole number from 0 to 8, got {shown}. Free cells: 0, 1, 2, 3, 4, 5, 6, 7, 8."
    )
    assert caught.value.code == "invalid_position"
