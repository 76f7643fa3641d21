"""How a room is shown: as each side sees it (the one representation every answer derives from), and its history.

A room takes these as a mixin (`Showing`); the shapes they build are typed in answers.py.
"""

from __future__ import annotations

from tictactoe.game.errors import GameError
from tictactoe.game.rules import HUMAN, OPPONENT, START, O, X, other
from tictactoe.state.answers import (
    CHAT_ANSWERED,
    ChatShown,
    History,
    MoveShown,
    OpponentShown,
    Players,
    RoomSeen,
    RoomState,
)
from tictactoe.state.seats import Player, Seat

NEXT_STEP = {
    "your_turn": "Your move: play one of the legal_moves (make_move).",
    "opponent_turn": "The opponent is thinking: look at the room again in a moment (get_room_state).",
    "won": "You won! Start a rematch with create_room.",
    "lost": "The opponent won. Start a rematch with create_room.",
    "draw": "It's a draw. Start a rematch with create_room.",
}
NEXT_STEP_PEOPLE = {
    "waiting_for_opponent": "Waiting for a second player: share the room_id (they call join_room with it).",
    "your_turn": "Your move: play one of the legal_moves (make_move).",
    "opponent_turn": "The other player's move: wait_for_turn returns as soon as they have played.",
    "won": "You won! Play again with enter_queue or create_room.",
    "lost": "The other player won. Play again with enter_queue or create_room.",
    "draw": "It's a draw. Play again with enter_queue or create_room.",
    "watching": "You are watching: only the two players can move. Look again with get_room_state.",
    "finished": "The game is over. Start your own with create_room or enter_queue.",
}


class Showing:
    """A room's answers, for a Room: to_dict (the room as a side sees it), seen_by (as a token's holder does) and
    history (the game from its first move)."""

    __slots__ = ()  # a Room's own slots hold its state

    id: str
    watch_id: str
    two_people: bool
    seats: dict[str, Seat]
    human: Player
    difficulty: str | None
    opponent_name: str
    thinking: bool
    _moves: tuple[tuple, ...]  # Moves and ChatLines as plain tuples
    _chat: tuple[tuple, ...]

    def to_dict(self, mark: str | None = HUMAN) -> RoomState:
        """The one representation of a room, as the player of `mark` sees it: REST bodies, MCP structured content
        and Markdown derive from it."""
        with self.lock:
            return self._as_dict(mark)

    def seen_by(self, token: object) -> RoomState:
        """The room as the holder of `token` sees it: in a room for two people, without a seat, as a spectator."""
        return self.to_dict(self.mark_of(token))

    def history(self, mark: str | None = HUMAN) -> History:
        """The game from the start, as the player of `mark` sees it: who plays each side, every move in order
        (who made it, where it came from, when, and the board after it), the chat and how it stands."""
        with self.lock:
            state = self._as_dict(mark)
            players = self._players_shown()
            board, moves = START, []
            for number, move in enumerate(self._moves, start=1):
                played, position, _, via, at = move
                board = board.push(position)
                moves.append({"number": number, **_move_shown(move, mark), "via": via, "at": at,
                              "player": players[played]["name"], "board": list(board.cells)})  # fmt: skip
            shown_keys = ("room_id", "status", "your_mark", "winner", "winning_line", "forfeited_by", "version")
            return {
                **{key: state[key] for key in shown_keys},
                "against": self.against(),
                "players": players,
                "moves": moves,
                "chat": [{**_line_shown(line, mark), "at": line[2], "via": line[3]} for line in self._chat],
                "chat_earlier": self.said - len(self._chat),  # lines said before the kept ones scrolled away
                "created_at": self.created_at,
                "updated_at": self.updated_at,
                "links": state["links"],
            }

    def _as_dict(self, mark: str | None) -> RoomState:
        outcome = self.board.outcome()
        status = self.status(mark)
        return {
            "room_id": self.id,
            "board": list(self.board.cells),
            "status": status,
            "turn": None if self.is_over() else self.board.turn,
            "your_mark": mark,
            "opponent": self._opponent(O if mark is None else other(mark)),
            "winner": self.winner(),
            "winning_line": list(outcome.line) if outcome and outcome.line else None,
            "forfeited_by": self.forfeited_by,
            "legal_moves": self.board.legal_moves() if status == "your_turn" else [],
            "moves": [_move_shown(move, mark) for move in self._moves],
            "chat": [_line_shown(line, mark) for line in self._chat[-CHAT_ANSWERED:]],
            "next_step": (NEXT_STEP_PEOPLE if self.two_people else NEXT_STEP)[status],
            "version": self.version,
            "created_at": self.created_at,
            "updated_at": self.updated_at,
            "links": {"play": f"/rooms/{self.id}/view", "watch": f"/watch/{self.watch_id}"},
        }

    def _players_shown(self) -> Players:
        if not self.two_people:
            return {HUMAN: {"name": self.human.name or None, "kind": "human"},
                    OPPONENT: {"name": self.opponent_name, "kind": self._chosen_by()}}  # fmt: skip
        return {
            mark: {"name": seat.name if (seat := self.seats.get(mark)) else None, "kind": "human"} for mark in (X, O)
        }

    def _opponent(self, mark: str) -> OpponentShown:
        if not self.two_people:
            return {"name": self.opponent_name, "mark": mark, "moves_chosen_by": self._chosen_by(),
                    "difficulty": self.difficulty, "thinking": self.thinking}  # fmt: skip
        seat = self.seats.get(mark)
        name = seat.name if seat is not None else None
        return {"name": name, "mark": mark, "moves_chosen_by": "human", "difficulty": None, "thinking": False}

    def _chosen_by(self) -> str:
        """Who chooses the opponent's moves, in a game against it."""
        return "mistral" if self.difficulty is None else "engine"


def _move_shown(move: tuple, mark: str | None) -> MoveShown:
    """A Move, from its plain tuple, as the player of `mark` sees it (without when and where from: the history's)."""
    played, position, by, _, _ = move
    shown_by = by if by != "human" or mark is None else "you" if played == mark else "opponent"
    return {"mark": played, "position": position, "by": shown_by}


def _line_shown(line: tuple, mark: str | None) -> ChatShown:
    """A ChatLine, from its plain tuple, as the player of `mark` sees it (without when and where from: the
    history's)."""
    sender, text, _, _ = line
    speaker = sender if mark is None else "you" if sender == mark else "opponent"  # marks, to a spectator
    return {"from": speaker, "text": text}


def spectator_view(state: RoomState) -> RoomSeen:
    """A room's representation as spectators see it: everything but the id and link that let one play."""
    shown = {key: value for key, value in state.items() if key != "room_id"}
    shown["links"] = {"watch": state["links"]["watch"]}
    return shown


def attach_state(error: GameError, room: Showing, mark: str = HUMAN) -> None:
    """Give an error the room it happened in, so every edge can show the board beside the message."""
    error.room = room.to_dict(mark)
