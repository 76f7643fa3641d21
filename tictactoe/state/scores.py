"""Scores: wins, losses and draws per player, against each level of the engine, Mistral and people.

A player is a key (an MCP connection's, or a seat's for callers without one, hashed) and the display name they
gave, if any. The leaderboard ranks names by their totals, which are kept beside the records (as is the count of
games) so that reading it costs the same however many have played; the key answers "how am I doing" for whoever
holds it. Counts live in the store's SQLite database, and a finished game is counted in the same transaction that
marks its room as counted, so each one counts exactly once, restarts and crashes included.
"""

from __future__ import annotations

import sqlite3
import threading

from tictactoe.state.room import Room

AGAINST = ("easy", "medium", "hard", "mistral", "people")
COLUMN = {"won": "wins", "lost": "losses", "draw": "draws"}  # a side's status when the game is over
LEADERS_MOST = 100  # names the leaderboard shows at most


class Scores:
    """The counts, over the store's database connection and under its lock."""

    def __init__(self, db: sqlite3.Connection, lock: threading.Lock):
        self._db = db
        self._lock = lock

    def count(self, room: Room) -> None:
        """Add a finished game to each of its players' records. Call inside the store's transaction."""
        for key, name, against, column in results(room):
            self._db.execute(
                f"INSERT INTO scores (player, name, against, {column}) VALUES (?, ?, ?, 1) "
                f"ON CONFLICT (player, name, against) DO UPDATE SET {column} = {column} + 1",
                (key, name, against),
            )
            if name:
                self._db.execute(
                    f"INSERT INTO names (name, {column}) VALUES (?, 1) "
                    f"ON CONFLICT (name) DO UPDATE SET {column} = {column} + 1",
                    (name,),
                )
        self._db.execute("UPDATE totals SET games = games + 1")
        room.scored = True

    def leaderboard(self, limit: int = 10) -> list[dict]:
        """The named players with the most wins (then the fewest losses, the most draws), best first."""
        with self._lock:
            names = [
                name
                for (name,) in self._db.execute(
                    "SELECT name FROM names ORDER BY wins DESC, losses, draws DESC, name LIMIT ?", (limit,)
                )
            ]
            rows = self._db.execute(
                f"SELECT name, against, SUM(wins), SUM(losses), SUM(draws) FROM scores "
                f"WHERE name IN ({', '.join('?' * len(names))}) GROUP BY name, against",
                names,
            ).fetchall()
        records = {name: record([]) for name in names}
        for name, *counts in rows:
            add_counts(records[name], *counts)
        return [{"rank": rank, "name": name, **records[name]} for rank, name in enumerate(names, start=1)]

    def of_player(self, key: str) -> dict:
        """The record of whoever holds `key` (a connection's or a seat's), under whatever names they gave."""
        return self._select("player = ?", (key,))

    def of_name(self, name: str) -> dict:
        """The record of everyone who played as `name`."""
        return self._select("name = ?", (name,))

    def games(self) -> int:
        """Finished games counted: a game between people counts once, though both players' records have it."""
        with self._lock:
            (games,) = self._db.execute("SELECT games FROM totals").fetchone()
        return games

    def _select(self, where: str, parameters: tuple) -> dict:
        with self._lock:
            rows = self._db.execute(
                f"SELECT against, SUM(wins), SUM(losses), SUM(draws) FROM scores WHERE {where} GROUP BY against",
                parameters,
            ).fetchall()
        return record(rows)


def results(room: Room) -> list[tuple[str, str, str, str]]:
    """What a finished game adds to the scores: for each player, their key, name, what they played against, and
    the column (wins, losses or draws) that counts one more."""
    return [
        (player.key, player.name, room.against(), COLUMN[room.status(mark)]) for mark, player in room.players().items()
    ]


def record(rows: list[tuple]) -> dict:
    """A record from rows of (against, wins, losses, draws)."""
    counted = {"games": 0, "wins": 0, "losses": 0, "draws": 0}
    counted["against"] = {against: {"wins": 0, "losses": 0, "draws": 0} for against in AGAINST}
    for row in rows:
        add_counts(counted, *row)
    return counted


def add_counts(record: dict, against: str, wins: int, losses: int, draws: int) -> None:
    for column, count in (("wins", wins), ("losses", losses), ("draws", draws)):
        record[column] += count
        record["against"][against][column] += count
    record["games"] += wins + losses + draws
