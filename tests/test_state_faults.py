"""The state layer under failure and misuse: a change the database cannot keep is never shown, the player is told to
retry, and text that could not be kept never gets in."""

import asyncio
import json
import logging
import random
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from tictactoe.doors.flask_app import create_app
from tictactoe.game.errors import InvalidRequest, RoomNotFound, SeatRequired, StoreUnavailable
from tictactoe.game.rules import HUMAN
from tictactoe.players.opponent import Opponent
from tictactoe.services.games import GameService
from tictactoe.state.room import Room
from tictactoe.state.sqlite_store import SqliteRoomStore

BIG_LINE = "🤖" * 500  # a chat message at its longest: 2000 bytes in the snapshot


def service_on(path, **store) -> GameService:
    return GameService(Opponent(None, random.Random(7)), store=SqliteRoomStore(str(path), **store))


@pytest.fixture
def db(tmp_path) -> str:
    return str(tmp_path / "rooms.db")


@pytest.fixture
def service(db) -> Iterator[GameService]:
    service = service_on(db)
    service.rooms._db.execute("PRAGMA busy_timeout = 200")  # a locked database answers within a moment
    yield service
    service.rooms.close()


@contextmanager
def locked(db: str) -> Iterator[None]:
    """Another program holds the database's write lock (a backup tool, say): the store's writes wait, then fail."""
    other = sqlite3.connect(db, isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


@contextmanager
def disk_full(service: GameService) -> Iterator[None]:
    """The database can grow no more (SQLITE_FULL): its free pages vacuumed away, its size capped where it is.

    SQLite writes a changed row's new overflow pages before it frees the old ones, so a room whose snapshot is
    longer than a page (see `big`) cannot be written at all.
    """
    db = service.rooms._db
    db.execute("VACUUM")
    (most,) = db.execute("PRAGMA max_page_count").fetchone()
    db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
    try:
        yield
    finally:
        db.execute(f"PRAGMA max_page_count = {most}")


async def big(service: GameService, room: Room) -> Room:
    """The room with a chat longer than a database page."""
    for _ in range(3):
        await service.chat(room.id, BIG_LINE)
    return room


def seen(room: Room) -> tuple[dict, dict]:
    """Everything a change could alter: the room as its player sees it, and as it is kept."""
    return room.to_dict(HUMAN), room.snapshot()


async def test_a_move_the_full_disk_cannot_keep_is_undone_and_the_retry_plays_it(service, db):
    room = await big(service, service.create_room("hard"))
    before = seen(room)
    with disk_full(service), pytest.raises(StoreUnavailable) as refused:
        await service.play(room.id, 0)
    assert (refused.value.code, refused.value.retry_after) == ("store_unavailable", 5)
    assert refused.value.message == (
        "The server could not save the game just now, so nothing changed: look at the room again before you retry. "
        "Try again in 5 s."
    )
    assert isinstance(refused.value.__cause__, sqlite3.OperationalError)
    assert str(refused.value.__cause__) == "database or disk is full"
    assert seen(room) == before
    assert refused.value.room == before[0]  # the board as it stands, beside the message
    turn = await service.play(room.id, 0)
    assert turn.to_dict()["last_turn"] == {"you": 0, "opponent": 4}
    state = room.to_dict()
    service.rooms.close()
    assert service_on(db).room(room.id).to_dict() == state


async def test_a_chat_line_the_full_disk_cannot_keep_is_undone(service):
    room = await big(service, service.create_room())
    before = seen(room)
    with disk_full(service), pytest.raises(StoreUnavailable):
        await service.chat(room.id, BIG_LINE)
    assert seen(room) == before


def people_room(service: GameService, joined: bool = True):
    host = service.people.open_room("Ann", "local")
    guest = service.people.join(host.room.id, "Ben") if joined else None
    return host, guest


async def test_every_kind_of_change_a_locked_database_refuses_is_undone(service, db):
    against, finishing, stopped = (service.create_room("hard") for _ in range(3))
    for mark, position in (("X", 0), ("O", 3), ("X", 1), ("O", 4)):
        finishing.play(mark, position, "human")  # X wins at 2
    stopped.play(HUMAN, 0, "human")  # kept without its reply, as if the server had stopped then
    waiting, _ = people_room(service, joined=False)
    alone, _ = people_room(service, joined=False)
    full, guest = people_room(service)
    tries = {
        against: lambda: service.play(against.id, 4),
        finishing: lambda: service.play(finishing.id, 2),  # and scored, in the same write
        stopped: lambda: service.room(stopped.id),  # looking finishes the turn, which must be kept first
        waiting.room: lambda: service.people.join(waiting.room.id, "Cy"),
        full.room: lambda: service.people.leave(full.room.id, guest.seat.token),
        alone.room: lambda: service.people.leave(alone.room.id, alone.seat.token),  # which would close it
    }
    rooms = list(tries)
    before = [seen(room) for room in rooms]
    games = service.rooms.scores.games()
    with locked(db):
        for attempt in tries.values():
            with pytest.raises(StoreUnavailable):
                result = attempt()
                if asyncio.iscoroutine(result):
                    await result
    assert [seen(room) for room in rooms] == before
    assert service.rooms.scores.games() == games
    assert [room.thinking for room in rooms] == [False] * len(rooms)
    await service.play(finishing.id, 2)  # the lock gone, it goes through
    assert service.rooms.scores.games() == games + 1


def test_a_seat_bound_to_its_connection_while_the_database_refuses_is_reached_all_the_same(service, db, caplog):
    host, guest = people_room(service)
    before = host.room.snapshot()
    heard = []
    service.rooms.reach.listen("sse:ann", lambda event, data: heard.append(event))
    with locked(db):
        service.people.hold(host.room, host.seat.token, "sse:ann")  # the call that binds it goes on
    assert (host.room.snapshot(), host.seat.process) == (before, "")  # nothing kept, nothing shown
    assert caplog.messages == ["a seat's binding to its connection could not be saved"]
    service.people.leave(host.room.id, guest.seat.token)
    assert heard == ["partner.disconnected"]  # the connection reaches the seat as before
    service.people.hold(host.room, host.seat.token, "sse:ann")  # the database back, the binding is kept
    (kept,) = sqlite3.connect(db).execute("SELECT state FROM rooms WHERE id = ?", (host.room.id,)).fetchone()
    bound = {mark: process for mark, *_, process in json.loads(kept)["seats"]}
    assert bound == {host.seat.mark: service.rooms.process, guest.seat.mark: ""}


def test_a_room_whose_first_write_fails_is_not_made(service, db):
    service.create_room()
    with locked(db), pytest.raises(StoreUnavailable):
        service.create_room()
    assert len(service.rooms) == 1
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM rooms").fetchone()[0] == 1


async def test_a_change_that_is_not_kept_wakes_nobody(service, db):
    room = service.create_room()
    waiting = asyncio.create_task(room.changed_since(room.version, 0.5))
    await asyncio.sleep(0)
    with locked(db), pytest.raises(StoreUnavailable):
        await service.chat(room.id, "hello")
    assert await waiting is False
    waiting = asyncio.create_task(room.changed_since(room.version, 5))
    await asyncio.sleep(0)
    await service.chat(room.id, "hello")
    assert await waiting is True


def test_a_change_is_written_once_however_many_steps_it_has_and_all_undone_if_one_fails():
    room = Room("r", "easy", "O-Bot")
    writes = []
    room.on_change = lambda changed: writes.append(changed.version)
    with room.change():
        room.play(HUMAN, 0, "human")
        room.say(HUMAN, "and a word")
    assert (room.version, writes) == (2, [2])
    before = seen(room)
    with pytest.raises(RuntimeError), room.change():
        room.say("O", "a line")
        room.thinking = True
        raise RuntimeError("a step fails")
    assert (seen(room), room.thinking, writes) == (before, False, [2])


async def test_an_opponent_reply_that_cannot_be_kept_leaves_the_turn_to_be_made_on_the_next_look(
    service, db, monkeypatch
):
    room = service.create_room("hard")
    other = sqlite3.connect(db, isolation_level=None)
    think = service.opponent.move

    async def move_while_the_database_is_locked(board, difficulty):
        other.execute("BEGIN EXCLUSIVE")  # the player's move is kept; the reply, chosen now, cannot be
        return await think(board, difficulty)

    monkeypatch.setattr(service.opponent, "move", move_while_the_database_is_locked)
    state = (await service.play(room.id, 0)).to_dict()
    assert (state["status"], state["opponent"]["thinking"]) == ("opponent_turn", False)
    assert (state["last_turn"], state["board"]) == ({"you": 0, "opponent": None}, ["X", *[""] * 8])
    other.execute("ROLLBACK")
    other.close()
    state = service.room(room.id).to_dict()
    assert (state["status"], state["board"][4], state["moves"][-1]["by"]) == ("your_turn", "O", "engine")


async def test_a_chat_answer_that_cannot_be_kept_leaves_the_players_line_standing(service, db, monkeypatch):
    room = service.create_room()
    other = sqlite3.connect(db, isolation_level=None)
    answer = service.opponent.answer

    async def answer_while_the_database_is_locked(board, message):
        other.execute("BEGIN EXCLUSIVE")
        return await answer(board, message)

    monkeypatch.setattr(service.opponent, "answer", answer_while_the_database_is_locked)
    state = (await service.chat(room.id, "hello")).to_dict()
    other.execute("ROLLBACK")
    other.close()
    assert [(line["from"], line["text"]) for line in state["chat"]][1:] == [("you", "hello")]
    assert state["version"] == 2


def test_rooms_that_expire_while_the_database_is_locked_still_answer_and_go_on_the_next_start(db, caplog):
    service = service_on(db, ttl=1)
    room = service.create_room()
    service.rooms._db.execute("PRAGMA busy_timeout = 200")
    time.sleep(1.1)
    with locked(db), pytest.raises(RoomNotFound), caplog.at_level(logging.WARNING, "tictactoe.state.sqlite_store"):
        service.room(room.id)
    assert caplog.messages == [
        "could not delete expired rooms from the database (database is locked); they go on the next start"
    ]
    service.rooms.close()
    service_on(db, ttl=1).rooms.close()
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM rooms").fetchone()[0] == 0


def test_a_refused_write_answers_a_json_503_and_the_same_request_then_succeeds(db):
    service = service_on(db)  # waiting on the lock as long as served
    app = create_app(service)
    client = app.test_client()
    room = client.post("/rooms", json={"difficulty": "hard"}).get_json()
    path = f"/rooms/{room['room_id']}"
    try:
        with locked(db):
            refused = client.post(f"{path}/move", json={"position": 0})
        assert (refused.status_code, refused.headers["Retry-After"]) == (503, "5")
        error = refused.get_json()["error"]
        assert (error["code"], error["retry_after"]) == ("store_unavailable", 5)
        assert client.get(path).get_json() == room
        played = client.post(f"{path}/move", json={"position": 0})
        assert (played.status_code, played.get_json()["last_turn"]) == (200, {"you": 0, "opponent": 4})
    finally:
        app.extensions["tictactoe.loop"].close()
        service.rooms.close()


UNFIT = [("\ud800", "U+D800"), ("a\x00b", "U+0000"), ("\x1b[2J", "U+001B"), ("\x85", "U+0085"), ("\x7f", "U+007F")]
SHOWN = " without control characters (tabs and line breaks aside)"


def unfit(field: str, code: str, rule: str = SHOWN) -> str:
    return f"{field} must be valid Unicode text{rule}; it has {code}."


async def refused(attempt) -> str:
    """The message of the InvalidRequest that `attempt`, sync or async, raises."""
    with pytest.raises(InvalidRequest) as refusal:
        result = attempt()
        if asyncio.iscoroutine(result):
            await result
    return refusal.value.message


@pytest.mark.parametrize(("text", "code"), UNFIT)
async def test_names_and_messages_that_cannot_be_stored_or_shown_never_get_in(service, text, code):
    room = service.create_room()
    host = service.people.open_room("Ann", "local")
    before = seen(room), seen(host.room)
    assert await refused(lambda: service.chat(room.id, f"hi {text}")) == unfit("message", code)
    assert await refused(lambda: service.people.open_room(text, "local")) == unfit("name", code)
    assert await refused(lambda: service.people.join(host.room.id, text)) == unfit("name", code)
    assert await refused(lambda: service.people.enter_queue("", f"Bo{text}", "local")) == unfit("name", code)
    assert (seen(room), seen(host.room), len(service.rooms)) == (*before, 2)
    assert service.people.enter_queue("", "Bo", "local")["position"] == 1  # nobody got into the queue


async def test_tokens_and_tickets_that_cannot_be_encoded_are_refused_cleanly(service):
    host = service.people.open_room("Ann", "local")
    room, token = host.room, host.seat.token
    before = seen(room)
    for attempt, field in [
        (lambda: service.play(room.id, 4, token=f"{token}\ud800"), "player_token"),
        (lambda: service.chat(room.id, "hi", token="\udfff"), "player_token"),
        (lambda: room.seen_by("\ud800"), "player_token"),
        (lambda: service.people.leave(room.id, "\ud800"), "player_token"),
        (lambda: service.people.enter_queue("\ud800", "Bo", "local"), "ticket"),
        (lambda: service.people.leave_queue("\ud800"), "ticket"),
    ]:
        assert (await refused(attempt)).startswith(f"{field} must be valid Unicode text; it has U+D")
    assert seen(room) == before
    with pytest.raises(SeatRequired):
        room.seen_by(f"{token}\x00")  # text, just no seat's token


async def test_tabs_line_breaks_and_any_other_text_are_welcome(service):
    room = service.create_room()
    await service.chat(room.id, "Good luck\tand\r\nhave fun 🤖 ñ 中")
    assert room.to_dict()["chat"][1]["text"] == "Good luck and have fun 🤖 ñ 中"
    assert service.people.open_room("Zoë\t🤖", "local").seat.name == "Zoë 🤖"


def test_a_lone_surrogate_over_rest_is_a_400_and_the_room_goes_on(rest_client):
    room = rest_client.post("/rooms").get_json()
    path = f"/rooms/{room['room_id']}"
    said = rest_client.post(f"{path}/chat", data='{"message": "hi \\ud800"}', content_type="application/json")
    assert (said.status_code, said.get_json()["error"]["message"]) == (400, unfit("message", "U+D800", ""))
    assert rest_client.get(path).get_json() == room
    assert rest_client.post(f"{path}/chat", json={"message": "hi"}).status_code == 200
