"""Markdown for chats, derived from a room's one representation (Room.to_dict), its history and the scores."""

from __future__ import annotations

import functools
import re
import time

from tictactoe.state.scores import AGAINST

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
# Characters that would make user text into Markdown: emphasis, code, links and images, HTML, headings, tables.
# An underscore inside a word (create_room) cannot start emphasis, so it stays as it is.
_SPECIALS = r"\\`*\[\]<>#|~"
_MARKDOWN_SPECIALS = re.compile(rf"[{_SPECIALS}]|(?<!\w)_|_(?!\w)")
_MAYBE_SPECIAL = re.compile(rf"[{_SPECIALS}_]")  # any of them, or an underscore: a tenth of the time to find none
CHAT_SHOWN = 3


def escaped(text: str) -> str:
    """User text (a name, a chat line, a value quoted in an error) as Markdown that shows it as it is."""
    if _MAYBE_SPECIAL.search(text) is None:
        return text
    return _MARKDOWN_SPECIALS.sub(lambda special: "\\" + special.group(0), text)


def board_markdown(board: list[str], winning_line: list[int] | None) -> str:
    """The grid in a code block: marks where played, position numbers on empty cells."""
    return _grid(tuple(board), tuple(winning_line) if winning_line else None)


@functools.lru_cache(maxsize=8192)  # a game has at most 5,478 positions
def _grid(board: tuple[str, ...], winning_line: tuple[int, ...] | None) -> str:
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
    name = escaped(opponent["name"]) if opponent["name"] else "the other player"
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
                f"> **{speakers[line['from']]}:** {escaped(line['text'])}" for line in state["chat"][-CHAT_SHOWN:]
            )
        )
    links = state.get("links", {})
    if links.get("play", "").startswith("http"):  # absolute: the request said where this server is reached
        parts.append(f"Live board: [play in your browser]({links['play']}) · [a link to share]({links['watch']})")
    parts.append(_next_markdown(state))
    return "\n\n".join(parts)


def _next_markdown(state: dict) -> str:
    """What to do next, with what the next call needs: hosts that show a model only the text lose the rest."""
    facts = [f"room_id `{state['room_id']}`", f"version {state['version']}"]
    if "player_token" in state:
        facts.append(f"your player_token `{state['player_token']}` (your seat: pass it on, keep it secret)")
    if "ticket" in state:
        facts.append(f"ticket `{state['ticket']}`")
    return f"_Next:_ {state['next_step']} ({'; '.join(facts)})"


def queue_markdown(waiting: dict, patience: float) -> str:
    """A place in the pairing queue, as a chat shows it: with the ticket that keeps it."""
    return (
        f"Waiting for a partner: you are number {waiting['position']} in the queue. Call enter_queue again with "
        f"ticket `{waiting['ticket']}` within {patience / 60:g} minutes, or your place is given up."
    )


def _turn_markdown(turn: dict, name: str) -> str:
    text = f"You played **{turn['you']}**."
    if turn["opponent"] is not None:
        text += f" {name} answered **{turn['opponent']}**."
    return text


def history_markdown(history: dict) -> str:
    """A game's history as a chat shows it: the players, every move with who, where from and when, the board now
    and the chat."""
    players, yours = history["players"], history["your_mark"]
    names = {mark: escaped(player["name"]) if player["name"] else "you" if mark == yours else mark
             for mark, player in players.items()}  # fmt: skip
    sides = " · ".join(f"{mark}: {_player_text(names[mark], players[mark]['kind'])}" for mark in ("X", "O"))
    parts = [f"**Game history** · room `{history['room_id']}` · {sides} · {history['status'].replace('_', ' ')}"]
    if history["moves"]:
        parts.append(
            "\n".join(
                f"{move['number']}. **{move['mark']}** on {move['position']} · {move['by']} · "
                f"via {move['via'] or 'unknown'} · {_clock(move['at'])}"
                for move in history["moves"]
            )
        )
        parts.append(board_markdown(history["moves"][-1]["board"], history["winning_line"]))
    else:
        parts.append("No moves yet.")
    if history["chat"]:
        earlier = history["chat_earlier"]
        heading = f"**Chat** ({earlier} earlier lines no longer kept)" if earlier else "**Chat**"
        speakers = {**names, "you": "You", "opponent": names["X" if yours == "O" else "O"]}
        lines = (
            f"> {_clock(line['at'])} **{speakers[line['from']]}:** {escaped(line['text'])}" for line in history["chat"]
        )
        parts.append(heading + "\n\n" + "\n\n".join(lines))
    return "\n\n".join(parts)


def _player_text(name: str, kind: str) -> str:
    return name if kind == "human" else f"{name} ({kind})"


def _clock(at: float | None) -> str:
    return time.strftime("%H:%M:%S UTC", time.gmtime(at)) if at is not None else "time unknown"


def stats_markdown(stats: dict) -> str:
    """The leaderboard as a table, then the caller's own record and the name asked about, if any."""
    parts = [f"**Leaderboard** · {stats['games']} finished games counted"]
    if stats["leaderboard"]:
        header = "| # | Player | W | L | D | " + " | ".join(f"vs {against}" for against in AGAINST) + " |"
        rows = [header, "|" + "---|" * (5 + len(AGAINST))]
        for row in stats["leaderboard"]:
            cells = [str(row["rank"]), escaped(row["name"]), str(row["wins"]), str(row["losses"]), str(row["draws"])]
            rows.append("| " + " | ".join(cells + [_won_lost_drawn(row["against"][a]) for a in AGAINST]) + " |")
        parts.append("\n".join(rows) + "\n\n_vs columns: wins-losses-draws._")
    else:
        parts.append("No named player has finished a game yet: give a name when you start one to be listed.")
    if "you" in stats:
        parts.append(f"**You**: {_record_text(stats['you'])}")
    if "player" in stats:
        parts.append(f"**{escaped(stats['player']['name'])}**: {_record_text(stats['player'])}")
    return "\n\n".join(parts)


def _won_lost_drawn(counts: dict) -> str:
    return f"{counts['wins']}-{counts['losses']}-{counts['draws']}"


def _record_text(record: dict) -> str:
    if not record["games"]:
        return "no finished games yet."
    played = ", ".join(
        f"vs {against} {_won_lost_drawn(counts)}"
        for against, counts in record["against"].items()
        if any(counts.values())
    )
    return (
        f"{record['games']} games: {record['wins']} won, {record['losses']} lost, {record['draws']} drawn ({played})."
    )
