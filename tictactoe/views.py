"""Markdown for chats, derived from a room's one representation (Room.to_dict)."""

from __future__ import annotations

import re

HEADLINE = {
    "your_turn": "**Your turn** (you are {mark}).",
    "waiting_for_opponent": "**Waiting for a second player** to join.",
    "watching": "**{turn} to move.** You are watching.",
    "finished": "**Game over.**",
    "opponent_turn": "**{name} is thinking…**",
    "won": "🎉 **You won!**",
    "lost": "💀 **{name} won.**",
    "draw": "🤝 **It's a draw.**",
}
HEADLINE_PEOPLE = {**HEADLINE, "opponent_turn": "**Waiting for {name}'s move.**", "lost": "**{name} won.**"}
_MARKDOWN_SPECIALS = re.compile(r"([\\`*_{}\[\]<>#|~])")
CHAT_SHOWN = 3


def one_line(text: str, limit: int) -> str:
    """Text as a single line of at most `limit` characters, so it cannot lay out a board or heading of its own."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _escaped(text: str) -> str:
    return _MARKDOWN_SPECIALS.sub(r"\\\1", text)


def board_markdown(board: list[str], winning_line: list[int] | None) -> str:
    """The grid in a code block: marks where played, position numbers on empty cells."""
    cells = [mark or str(i) for i, mark in enumerate(board)]
    rows = [" " + " │ ".join(cells[r : r + 3]) for r in (0, 3, 6)]
    grid = "\n───┼───┼───\n".join(rows)
    text = f"```\n{grid}\n```"
    if winning_line:
        text += f"\nWinning line: {'-'.join(map(str, winning_line))}"
    return text


def with_base(state: dict, base: str) -> dict:
    """The state with its links made absolute on `base` (the server's public URL, as the request reached it)."""
    return {**state, "links": {name: base.rstrip("/") + path for name, path in state["links"].items()}}


def room_markdown(state: dict) -> str:
    """A room as a chat shows it: board, whose turn, status, the latest chat and what to do next."""
    opponent = state["opponent"]
    name = opponent["name"] or "the other player"
    person = opponent["moves_chosen_by"] == "human"
    if person:
        you = f"you: {state['your_mark']}" if state["your_mark"] else "you are watching"
        players = f"{you} · {name}: {opponent['mark']} (a person)"
    else:
        players = f"you: X · {name}: O ({opponent['difficulty'] or 'Mistral chooses its moves'})"
    parts = [_turn_markdown(state["last_turn"], name)] if state.get("last_turn") else []
    parts += [
        f"**Tic-tac-toe** · room `{state['room_id']}` · {players}",
        board_markdown(state["board"], state["winning_line"]),
        (HEADLINE_PEOPLE if person else HEADLINE)[state["status"]].format(
            name=name, mark=state["your_mark"], turn=state["turn"]
        ),
    ]
    if state["legal_moves"]:
        parts.append("Free cells: " + ", ".join(map(str, state["legal_moves"])))
    if state["chat"]:
        speakers = {"you": "You", "opponent": name, "X": "X", "O": "O"}
        parts.append(
            "\n\n".join(
                f"> **{speakers[line['from']]}:** {_escaped(line['text'])}" for line in state["chat"][-CHAT_SHOWN:]
            )
        )
    links = state.get("links", {})
    if links.get("play", "").startswith("http"):  # absolute: the request said where this server is reached
        parts.append(f"Live board: [play in your browser]({links['play']}) · [a link to share]({links['watch']})")
    parts.append(f"_Next:_ {state['next_step']}")
    return "\n\n".join(parts)


def _turn_markdown(turn: dict, name: str) -> str:
    text = f"You played **{turn['you']}**."
    if turn["opponent"] is not None:
        text += f" {name} answered **{turn['opponent']}**."
    return text
