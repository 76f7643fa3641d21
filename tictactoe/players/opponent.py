"""The opponent: the built-in engine and canned lines, with Mistral in front when a key is set.

Whatever Mistral does, every method here returns a legal move and a line: the game never stalls.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass

from tictactoe.game import engine, lines
from tictactoe.game.rules import Board
from tictactoe.players.mistral import MistralVoice, VoiceError

log = logging.getLogger(__name__)

FALLBACK_DIFFICULTY = "medium"  # the engine's level when Mistral was to choose a move and could not
EVENTS = {
    "opening": "You just played O at {move}, your first move.",
    "move": "You just played O at {move}.",
    "block": "You just played O at {move}, blocking the human's winning line.",
    "win": "You just played O at {move} and won the game with three in a row!",
    "draw": "You just played O at {move}; the board is full and the game is a draw.",
    "lose": "The human just completed three in a row and beat you.",
    "draw_by_human": "The human just filled the last cell: the game is a draw.",
}


@dataclass(frozen=True)
class Reply:
    move: int
    line: str
    by: str  # who chose the move: "mistral" or "engine"


class Opponent:
    """Chooses the O moves and says the lines, with or without Mistral."""

    def __init__(self, voice: MistralVoice | None, rng: random.Random | None = None):
        self.voice = voice
        self.rng = rng or random.Random()
        self.name = "Mistral" if voice else "O-Bot"

    async def move(self, board: Board, difficulty: str | None) -> Reply:
        """The reply to the human's move: Mistral's own choice when `difficulty` is None, else the engine's."""
        if self.voice is not None and difficulty is None:
            try:
                move, line = await self.voice.choose(board)
                return Reply(move, line, "mistral")
            except VoiceError as error:
                log.warning("Engine moves instead, with a canned line: %s", error)
                return self.fallback(board)
        move = engine.choose_move(board, difficulty or FALLBACK_DIFFICULTY, self.rng)
        return Reply(move, await self.react(board.push(move), lines.situation(board, move), move), "engine")

    def fallback(self, board: Board, difficulty: str | None = None) -> Reply:
        """The engine's move with a canned line, asking Mistral nothing: when it failed, or to finish a stopped turn."""
        move = engine.choose_move(board, difficulty or FALLBACK_DIFFICULTY, self.rng)
        return Reply(move, lines.pick(lines.situation(board, move), self.rng), "engine")

    async def react(self, board: Board, kind: str, move: int | None = None) -> str:
        """A line for `kind` (a key of EVENTS) on the board as it now stands."""
        if self.voice is not None:
            try:
                return await self.voice.comment(board, EVENTS[kind].format(move=move))
            except VoiceError as error:
                log.warning("Using a canned line: %s", error)
        return lines.pick(kind.removesuffix("_by_human"), self.rng)

    async def answer(self, board: Board, message: str) -> str:
        """An in-character answer to a chat message; it never touches the board."""
        if self.voice is not None:
            try:
                return await self.voice.answer(board, message)
            except VoiceError as error:
                log.warning("Using a canned chat line: %s", error)
        return lines.pick("chat_over" if board.is_over() else "chat", self.rng)

    def welcome(self) -> str:
        return lines.pick("welcome", self.rng)
