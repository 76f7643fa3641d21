"""Scores: wins, losses and draws per player, against each level of the engine, Mistral and people.

A player is a key (an MCP connection's, or a seat's for callers without one, hashed) and the display name they
gave, if any. The leaderboard adds up names; the key answers "how am I doing" for whoever holds it. Counts live
in the store's SQLite database, and a finished game is counted in the same transaction that marks its room as
counted, so each one counts exactly once, restarts and crashes included.
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
        against = room.against()
        for mark, player in room.players().items():
            column = COLUMN[room.status(mark)]
            self._db.execute(
                f"INSERT INTO scores (player, name, against, {column}) VALUES (?, ?, ?, 1) "
                f"ON CONFLICT (player, name, against) DO UPDATE SET {column} = {column} + 1",
                (player.key, player.name, against),
            )
        room.scored = True

    def leaderboard(self, limit: int = 10) -> list[dict]:
        """The named players with the most wins (then the fewest losses, the most draws), best first."""
        with self._lock:
            names = [
                name
                for (name,) in self._db.execute(
                    "SELECT name FROM scores WHERE name != '' GROUP BY name "
                    "ORDER BY SUM(wins) DESC, SUM(losses), SUM(draws) DESC, name LIMIT ?",
                    (limit,),
                )
            ]
            rows = self._db.execute(
                f"SELECT name, against, SUM(wins), SUM(losses), SUM(draws) FROM scores "
                f"WHERE name IN ({', '.join('?' * len(names))}) GROUP BY name, against",
                names,
            ).fetchall()
        records = {name: _record([]) for name in names}
        for name, *counts in rows:
            _add(records[name], *counts)
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
            (games,) = self._db.execute(
                "SELECT COALESCE(SUM(CASE WHEN against = 'people' THEN (wins + losses + draws) / 2.0 "
                "ELSE wins + losses + draws END), 0) FROM scores"
            ).fetchone()
        return int(games)

    def _select(self, where: str, parameters: tuple) -> dict:
        with self._lock:
            rows = self._db.execute(
                f"SELECT against, SUM(wins), SUM(losses), SUM(draws) FROM scores WHERE {where} GROUP BY against",
                parameters,
            ).fetchall()
        return _record(rows)


def _record(rows: list[tuple]) -> dict:
    record = {"games": 0, "wins": 0, "losses": 0, "draws": 0}
    record["against"] = {against: {"wins": 0, "losses": 0, "draws": 0} for against in AGAINST}
    for row in rows:
        _add(record, *row)
    return record


def _add(record: dict, against: str, wins: int, losses: int, draws: int) -> None:
    for column, count in (("wins", wins), ("losses", losses), ("draws", draws)):
        record[column] += count
        record["against"][against][column] += count
    record["games"] += wins + losses + draws
