"""Rooms that survive a restart: the SQLite store, its migrations, a half-applied turn, a crash, many writers."""

import asyncio
import hashlib
import json
import logging
import random
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from contextlib import closing
from pathlib import Path

import pytest

from tests.fake_mistral import FakeMistral
from tests.servers import ROOT, Served, free_port, http, server_env
from tictactoe.game.rules import HUMAN
from tictactoe.players.opponent import Opponent
from tictactoe.services.games import GameService
from tictactoe.state.database import MIGRATIONS, UnusableDatabase
from tictactoe.state.room import Room
from tictactoe.state.seats import token_key
from tictactoe.state.sqlite_store import SqliteRoomStore


def reopened(path, grace: float = 60.0) -> GameService:
    return GameService(Opponent(None, random.Random(3)), store=SqliteRoomStore(str(path)), grace=grace)


async def test_everything_a_player_cares_about_is_there_after_a_restart(tmp_path):
    db = tmp_path / "rooms.db"
    before = reopened(db)
    room = before.create_room("hard")
    await before.play(room.id, 0)
    await before.chat(room.id, "Good game so far")
    seated = before.people.open_room("Ann", "local")
    joined = before.people.join(seated.room.id, "Ben")
    state, history, pair = room.to_dict(), room.history(), seated.room.to_dict(joined.seat.mark)
    before.rooms.close()

    after = reopened(db)
    assert (after.room(room.id).to_dict(), after.room(room.id).history()) == (state, history)
    assert after.watched(room.to_dict()["links"]["watch"].rsplit("/", 1)[1]).id == room.id
    assert after.room(seated.room.id).to_dict(joined.seat.mark) == pair
    assert after.room(seated.room.id).seat_of(joined.seat.token).name == "Ben"
    turn = await after.play(room.id, 8, via="page")  # and the game goes on
    assert turn.to_dict()["moves"][-2] == {"mark": "X", "position": 8, "by": "you"}
    assert after.room(room.id).history()["moves"][-2]["via"] == "page"


async def test_after_a_restart_a_seat_whose_connection_is_not_back_in_the_grace_period_is_given_up(tmp_path):
    db = tmp_path / "rooms.db"
    before = reopened(db)
    people = before.people

    def pair(bound: tuple[bool, bool]):
        """A room for two; `bound` says which of its people a connection reached (the others played over REST)."""
        host = people.open_room("Ann", "local")
        seats = (host, people.join(host.room.id, "Ben"))
        for seated, connected in zip(seats, bound, strict=True):
            if connected:
                people.hold(seated.room, seated.seat.token, f"sse:{seated.seat.mark}")
        return seats

    half, both, back, rest = pair((True, False)), pair((True, True)), pair((True, True)), pair((False, False))
    alone = people.open_room("Cy", "local")
    people.hold(alone.room, alone.seat.token, "sse:cy")
    before.rooms.close()  # a restart closes every connection

    after = reopened(db, grace=0.1)
    after.people.restarted()
    after.people.hold(after.room(back[1].room.id), back[1].seat.token, "sse:again")  # Ben is back in time
    await asyncio.sleep(0.4)

    def seen(seated) -> tuple[str, str | None]:
        state = after.room(seated.room.id).to_dict(seated.seat.mark)
        return state["status"], state["forfeited_by"]

    assert seen(half[1]) == ("won", half[0].seat.mark)  # the one a connection reached is not back: they forfeit
    assert seen(back[1]) == ("won", back[0].seat.mark)
    for seated in (*both, *rest):  # neither back, nobody waits for anybody; REST players hold no connection
        assert seen(seated) in (("your_turn", None), ("opponent_turn", None))
    assert after.room(alone.room.id).status(None) == "finished"  # closed: nobody is left to join it against
    assert after.rooms.stranded_rooms() == [both[0].room.id]  # the others are over, or nobody in them was bound


def test_seats_kept_before_they_were_bound_to_connections_load_unbound(tmp_path):
    room = reopened(tmp_path / "rooms.db").people.open_room("Ann", "local").room
    kept = room.snapshot()
    for seat in kept["seats"]:
        del seat[5:]  # as kept before: mark, token, name, left, player
    assert Room.restore(kept).snapshot() == kept | {"seats": [[*seat, ""] for seat in kept["seats"]]}
    for seat in kept["seats"]:
        del seat[4:]  # and before scores: without the player, whose key is then the token's
    restored = Room.restore(kept).seats[kept["seats"][0][0]]
    assert (restored.player, restored.process) == (token_key(restored.token), "")


async def test_a_turn_stopped_halfway_is_finished_when_the_room_is_next_touched(tmp_path):
    db = tmp_path / "rooms.db"
    before = reopened(db)
    room = before.create_room("hard")
    with room.lock:
        room.play(HUMAN, 0, "human")  # kept; the process "dies" before the opponent answers
    before.rooms.close()
    after = reopened(db)
    state = after.room(room.id).to_dict()
    assert (state["status"], state["board"][4], state["moves"][-1]["by"]) == ("your_turn", "O", "engine")


def test_expiry_and_the_cap_hold_on_disk(tmp_path):
    db = tmp_path / "rooms.db"
    store = SqliteRoomStore(str(db), ttl=600, capacity=2)
    old, young = store.add("easy", "O-Bot"), store.add("easy", "O-Bot")
    old.updated_at -= 600
    store.add("easy", "O-Bot")  # the cap sweeps the expired room away
    store.close()
    ids = {row[0] for row in sqlite3.connect(db).execute("SELECT id FROM rooms")}
    assert young.id in ids and old.id not in ids and len(ids) == 2


def test_a_new_database_is_migrated_and_a_newer_one_refused(tmp_path):
    db = tmp_path / "rooms.db"
    SqliteRoomStore(str(db)).close()
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    assert sqlite3.connect(db).execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    with sqlite3.connect(db) as newer:
        newer.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    newer_than = (
        rf"has schema version {len(MIGRATIONS) + 1}, newer than this server's {len(MIGRATIONS)}: left untouched"
    )
    with pytest.raises(UnusableDatabase, match=newer_than):
        SqliteRoomStore(str(db))
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) + 1


def test_a_newer_database_is_left_byte_for_byte_as_it_was(tmp_path):
    db = tmp_path / "rooms.db"
    with closing(sqlite3.connect(db, isolation_level=None)) as newer:  # in rollback-journal mode, SQLite's default
        newer.execute("CREATE TABLE future (x)")
        newer.execute("PRAGMA user_version = 99")
    digest = hashlib.sha256(db.read_bytes()).hexdigest()
    with pytest.raises(UnusableDatabase, match="has schema version 99, newer than this server's"):
        SqliteRoomStore(str(db))
    assert hashlib.sha256(db.read_bytes()).hexdigest() == digest
    assert [path.name for path in tmp_path.iterdir()] == ["rooms.db"]  # no -wal, no -shm


def stopped(rooms_db: Path) -> str:
    """What mcp_server.py says as it stops, started on `rooms_db`: it must stop at once, with exit status 1."""
    result = subprocess.run(
        [sys.executable, "mcp_server.py"],
        cwd=ROOT,
        env=server_env(PORT=str(free_port()), ROOMS_DB=str(rooms_db)),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1, result.stderr
    return result.stderr.strip()


@pytest.mark.parametrize(
    ("name", "make", "why"),
    [
        ("gone/rooms.db", lambda db: None, "cannot be created: its folder {folder} does not exist"),
        ("rooms.csv", lambda db: db.write_text("id,board\n"), "is not a SQLite database (file is not a database)"),
        ("rooms", Path.mkdir, "is a folder, not a database file"),
    ],
    ids=["a missing folder", "not a database", "a folder"],
)
def test_a_rooms_db_the_server_cannot_use_stops_the_start_with_one_line_naming_it(tmp_path, name, make, why):
    db = tmp_path / name
    make(db)
    assert stopped(db) == f"Configuration error: ROOMS_DB {db} {why.format(folder=db.parent)}"


def test_a_read_only_rooms_db_stops_the_start_too(tmp_path):
    """Read-only for real: immutable (chattr +i), which even root cannot write, as it can a file without write
    permission."""
    db = tmp_path / "rooms.db"
    SqliteRoomStore(str(db)).close()
    subprocess.run(["chattr", "+i", str(db)], check=True)
    try:
        why = stopped(db)
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)
    assert why == (
        f"Configuration error: ROOMS_DB {db} is read-only, and the server must write to it "
        "(attempt to write a readonly database)"
    )


def test_a_second_server_on_the_same_rooms_db_refuses_to_start(tmp_path):
    db = tmp_path / "rooms.db"
    first = Served("mcp_server.py", ROOMS_DB=str(db))
    try:
        assert stopped(db) == (
            f"Configuration error: ROOMS_DB {db} is in use by another running server: stop that one first, "
            "or point ROOMS_DB at another file"
        )
        assert http("POST", f"{first.url}/rooms")[0] == 201  # the first serves on
    finally:
        first.stop()
    Served("mcp_server.py", ROOMS_DB=str(db)).stop()  # and once it has stopped, the file is free


def test_an_unreadable_room_is_skipped_and_named_by_its_row_alone_and_the_others_load(tmp_path, caplog):
    db = tmp_path / "rooms.db"
    store = SqliteRoomStore(str(db))
    good, *bad = [store.add("easy", "O-Bot") for _ in range(5)]
    store.close()
    snapshot = bad[0].snapshot()
    broken = [
        "{not json",
        json.dumps({key: value for key, value in snapshot.items() if key != "moves"}),
        json.dumps({**snapshot, "moves": [["X", 9, "human", "rest", 1.0]]}),  # off the board
    ]
    with closing(sqlite3.connect(db, isolation_level=None)) as edit:
        for room, state in zip(bad[:3], broken, strict=True):
            edit.execute("UPDATE rooms SET state = ? WHERE id = ?", (state, room.id))
        edit.execute("UPDATE rooms SET state = CAST(X'7BFF7D' AS TEXT) WHERE id = ?", (bad[3].id,))  # not UTF-8
        rows = [edit.execute("SELECT rowid FROM rooms WHERE id = ?", (room.id,)).fetchone()[0] for room in bad]
    with caplog.at_level(logging.WARNING, "tictactoe.state.sqlite_store"):
        store = SqliteRoomStore(str(db))
    kinds = ["JSONDecodeError", "KeyError", "InvalidPosition", "UnicodeDecodeError"]
    assert caplog.messages == [
        f"skipped the unreadable room in row {row} of ROOMS_DB ({kind})" for row, kind in zip(rows, kinds, strict=True)
    ]
    assert store.get(good.id).to_dict() == good.to_dict()
    assert len(store) == 1
    store.close()


async def test_many_writers_at_once_never_corrupt_the_file(tmp_path):
    db = tmp_path / "rooms.db"
    service = reopened(db)
    rooms = [service.create_room("easy") for _ in range(16)]
    loops = []

    def play(room_id: str) -> None:
        import asyncio

        loop = asyncio.new_event_loop()
        loops.append(loop)
        rng = random.Random(room_id)
        while service.room(room_id).status() == "your_turn":
            loop.run_until_complete(service.play(room_id, rng.choice(service.room(room_id).board.legal_moves())))
        loop.close()

    threads = [threading.Thread(target=play, args=(room.id,)) for room in rooms]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    states = {room.id: room.to_dict() for room in rooms}
    service.rooms.close()
    assert sqlite3.connect(db).execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    after = reopened(db)
    assert {room_id: after.room(room_id).to_dict() for room_id in states} == states
    assert all(state["status"] in ("won", "lost", "draw") for state in states.values())
    assert after.rooms.scores.games() == len(states)  # each finished game counted once, by whichever thread


def test_a_server_killed_mid_game_keeps_every_acknowledged_move(tmp_path):
    """kill -9 at random moments, the opponent often mid-thought; every acknowledged move and message survives."""
    db, fake, rng = str(tmp_path / "rooms.db"), FakeMistral(delay=0.4).start(), random.Random(11)
    env = {"ROOMS_DB": db, "MISTRAL_API_KEY": "k", "MISTRAL_SERVER_URL": fake.url, "RATE_LIMIT_MOVE": "0"}
    acknowledged: dict[str, list[tuple[str, int]]] = {}
    said: dict[str, list[str]] = {}
    try:
        for round_ in range(4):
            server = Served("mcp_server.py", **env)
            for room_id in acknowledged:  # the games go on where they were
                state = http("GET", f"{server.url}/rooms/{room_id}")[1]
                assert [(m["mark"], m["position"]) for m in state["moves"]][: len(acknowledged[room_id])] == (
                    acknowledged[room_id]
                )
                assert [c["text"] for c in state["chat"] if c["from"] == "you"] == said[room_id]
                assert state["status"] != "opponent_turn" or state["opponent"]["thinking"]
            status, room = http("POST", f"{server.url}/rooms", {"difficulty": "easy"})
            assert status == 201
            acknowledged[room["room_id"]], said[room["room_id"]] = [], []
            http("POST", f"{server.url}/rooms/{room['room_id']}/chat", {"message": f"round {round_}"})
            said[room["room_id"]].append(f"round {round_}")
            killer = threading.Timer(rng.uniform(0.2, 1.5), server.process.send_signal, (signal.SIGKILL,))
            killer.start()
            for room_id in list(acknowledged):
                try:
                    status, state = http("GET", f"{server.url}/rooms/{room_id}")
                    if status == 200 and state["legal_moves"]:
                        status, state = http(
                            "POST", f"{server.url}/rooms/{room_id}/move", {"position": state["legal_moves"][0]}
                        )
                        if status == 200:
                            acknowledged[room_id] = [(m["mark"], m["position"]) for m in state["moves"]]
                except OSError:
                    break  # killed
            killer.join()
            server.process.wait(timeout=10)
            time.sleep(0.1)
        server = Served("mcp_server.py", **env)
        statuses = [http("GET", f"{server.url}/rooms/{room_id}")[1]["status"] for room_id in acknowledged]
        finished = sum(status in ("won", "lost", "draw") for status in statuses)
        assert http("GET", f"{server.url}/stats")[1]["games"] == finished  # each finished game, once
        server.stop()
    finally:
        fake.stop()
