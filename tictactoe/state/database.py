"""The SQLite database under the stores: its schema and migrations, and opening a file safely (refused with one
line naming it if the server cannot use it, or another server holds it)."""

from __future__ import annotations

import fcntl
import os
import sqlite3
from contextlib import closing
from pathlib import Path


class UnusableDatabase(ValueError):
    """The database file cannot be used (missing folder, not a database, read-only, newer, in use); the message
    names it and says why, in one line."""


BUSY_SECONDS = 2.0  # a write waits this long for a lock another program holds on the file, then the player retries
UNUSABLE = {  # what SQLite's refusal says of the file, for the one line the server stops with
    "SQLITE_NOTADB": "is not a SQLite database",
    "SQLITE_READONLY": "is read-only, and the server must write to it",
    "SQLITE_CANTOPEN": "cannot be opened",
}

MIGRATIONS = (  # applied in order on start; PRAGMA user_version counts those applied
    """CREATE TABLE rooms (
        id TEXT PRIMARY KEY,
        watch_id TEXT NOT NULL UNIQUE,
        updated_at REAL NOT NULL,
        state TEXT NOT NULL  -- Room.snapshot(), as JSON
    )""",
    """CREATE TABLE scores (
        player TEXT NOT NULL,  -- a connection's or a seat's key (a hash), '' for players known by neither
        name TEXT NOT NULL,  -- the display name they gave, '' for none
        against TEXT NOT NULL,  -- easy, medium, hard, mistral or people
        wins INTEGER NOT NULL DEFAULT 0,
        losses INTEGER NOT NULL DEFAULT 0,
        draws INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (player, name, against)
    )""",
    "CREATE INDEX scores_by_name ON scores (name)",
    # Each name's totals and the games counted, kept as they change (as Redis keeps them): the leaderboard read an
    # index rather than summing every score on each read, 50 ms at 100,000 of them.
    """CREATE TABLE names (
        name TEXT PRIMARY KEY,  -- a display name given, with its totals over every player and opponent
        wins INTEGER NOT NULL DEFAULT 0,
        losses INTEGER NOT NULL DEFAULT 0,
        draws INTEGER NOT NULL DEFAULT 0
    )""",
    "INSERT INTO names SELECT name, SUM(wins), SUM(losses), SUM(draws) FROM scores WHERE name != '' GROUP BY name",
    "CREATE INDEX names_by_rank ON names (wins DESC, losses, draws DESC, name)",
    "CREATE TABLE totals (games INTEGER NOT NULL)  -- one row: the finished games counted",
    """INSERT INTO totals SELECT CAST(COALESCE(SUM(CASE WHEN against = 'people' THEN (wins + losses + draws) / 2.0
        ELSE wins + losses + draws END), 0) AS INTEGER) FROM scores""",  # a game between people is in two records
)


def connect(path: str) -> sqlite3.Connection:
    """A connection for any thread, under the store's lock, on which each write commits unless in a transaction."""
    return sqlite3.connect(path, timeout=BUSY_SECONDS, check_same_thread=False, isolation_level=None)


def hold(path: str) -> int:
    """A descriptor of the database file, created empty if new, with an exclusive flock: a second server on the
    file is refused. flock never meets the POSIX locks SQLite takes on the same file."""
    try:
        held = os.open(path, os.O_RDONLY | os.O_CREAT, 0o600)  # rooms hold ids and tokens: the owner's only
    except IsADirectoryError:
        raise UnusableDatabase(f"ROOMS_DB {path} is a folder, not a database file") from None
    except FileNotFoundError:
        folder = os.path.dirname(os.path.abspath(path))
        raise UnusableDatabase(f"ROOMS_DB {path} cannot be created: its folder {folder} does not exist") from None
    except OSError as error:
        raise UnusableDatabase(f"ROOMS_DB {path} cannot be opened ({error.strerror})") from None
    try:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(held)
        raise UnusableDatabase(
            f"ROOMS_DB {path} is in use by another running server: stop that one first, or point ROOMS_DB at "
            "another file"
        ) from None
    return held


def refuse_newer(path: str) -> None:
    """Refuse a database of a newer schema, read on a read-only connection: even WAL mode rewrites the header."""
    try:
        with closing(sqlite3.connect(f"{Path(path).absolute().as_uri()}?mode=ro", uri=True)) as db:
            (applied,) = db.execute("PRAGMA user_version").fetchone()
    except sqlite3.Error as error:
        raise unusable(path, error) from None
    if applied > len(MIGRATIONS):
        raise UnusableDatabase(
            f"ROOMS_DB {path} has schema version {applied}, newer than this server's {len(MIGRATIONS)}: "
            "left untouched. Run a newer server, or point ROOMS_DB at another file."
        )


def unusable(path: str, error: sqlite3.Error) -> UnusableDatabase:
    """What SQLite's refusal says of the file, on one line naming it."""
    kind = "_".join(error.sqlite_errorname.split("_")[:2])  # SQLITE_READONLY_DIRECTORY is read-only too
    return UnusableDatabase(f"ROOMS_DB {path} {UNUSABLE.get(kind, 'cannot be used')} ({error})")


def migrate(db: sqlite3.Connection) -> None:
    """Bring the database's schema up to this server's, one numbered migration at a time."""
    applied = db.execute("PRAGMA user_version").fetchone()[0]
    for number in range(applied, len(MIGRATIONS)):
        db.execute("BEGIN IMMEDIATE")
        db.execute(MIGRATIONS[number])
        db.execute(f"PRAGMA user_version = {number + 1}")
        db.execute("COMMIT")
