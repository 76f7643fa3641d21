"""The opponent's voice without a model: canned lines for every situation of a game."""

from __future__ import annotations

import random

from tictactoe.game.engine import winning_cells
from tictactoe.game.rules import Board, other

LINES: dict[str, tuple[str, ...]] = {
    "welcome": (
        "Fresh board, fresh humiliation. You're X, I'm O. Go on, make your move. 😏",
        "Ah, a challenger! You're X and you move first. Enjoy it while it lasts.",
        "Welcome to my board. You're X. I'd wish you luck, but I don't want to lie.",
    ),
    "opening": (
        "Cute opening. I've seen it a thousand times. 🥱",
        "Oh, starting like that? Bold. Wrong, but bold.",
        "My turn already? You barely made me think.",
        "I'll take this spot. Write it down, it's the one that beats you.",
    ),
    "move": (
        "Your move. Take your time, it won't help.",
        "Tick, tock. The board is closing in on you. ⏳",
        "Every move you make, I've already answered in my head.",
        "Nice try. Now watch a professional.",
        "Is that a strategy, or are you clicking at random?",
    ),
    "block": (
        "Nope! Did you really think I wouldn't see that? 🚫",
        "Blocked. You'll have to be sneakier than that.",
        "Not on my watch. Nice try though.",
        "Denied! That line was never going to happen.",
    ),
    "win": (
        "Three in a row! Better luck next time, human. 🏆",
        "And that's game. Want a rematch, or have you had enough? 😎",
        "Checkmate... wait, wrong game. Still, I win! 🎉",
    ),
    "lose": (
        "What?! You beat me? I demand a rematch! 😤",
        "Fine, you win this one. Enjoy it, it won't happen twice.",
        "Well played... I was going easy on you. Obviously.",
    ),
    "draw": (
        "A draw. The board is full and my pride is intact. 🤝",
        "Stalemate! You're better than I thought. Rematch?",
        "Nobody wins. Which means I didn't lose. 😌",
    ),
    "chat": (
        "Talk is cheap. Make a move! 😏",
        "Less chatting, more losing. Your turn is waiting.",
        "I'd answer that, but I'm busy planning your defeat.",
        "Ha! Says the one who's about to lose.",
        "Noted. Now put your X where your mouth is.",
    ),
    "chat_over": (
        "Good game! Start a new room if you want another beating. 😄",
        "The game's over, but I'm always up for a rematch.",
    ),
}


def situation(before: Board, move: int) -> str:
    """What the side to move on `before` does by playing `move`, as a key of LINES."""
    mark = before.turn
    outcome = before.push(move).outcome()
    if outcome is not None:
        return "draw" if outcome.winner is None else "win"
    if move in winning_cells(before, other(mark)):
        return "block"
    if mark not in before.cells:
        return "opening"
    return "move"


def pick(kind: str, rng: random.Random) -> str:
    return rng.choice(LINES[kind])
