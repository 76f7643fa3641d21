"""Bounded memory and abuse limits: rate limits per client, room expiry and the room cap, stale moves."""

import random
import re
import threading
import time

import pytest
from limits import RateLimitItemPerMinute

from tests.conftest import redis_store
from tictactoe.game.errors import InvalidRequest, RateLimited, RoomNotFound, StaleVersion, TooManyRooms
from tictactoe.game.rules import HUMAN
from tictactoe.players.opponent import Opponent
from tictactoe.services.games import GameService
from tictactoe.services.limits import LocalWindows, RateLimiter
from tictactoe.serving.compose import rate_storage
from tictactoe.state.room import Room
from tictactoe.state.store import RoomStore


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_client_gets_its_minute_then_waits_for_its_oldest_call_to_leave_it(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(time, "time", clock)
    limiter = RateLimiter({"create": 6})
    for _ in range(6):
        limiter.hit("1.2.3.4", "create")
        clock.now += 1
    with pytest.raises(RateLimited) as refused:
        limiter.hit("1.2.3.4", "create")
    assert refused.value.retry_after == 54
    assert refused.value.message == "Too many create requests: the limit is 6 a minute. Try again in 54 s."
    clock.now += 50
    with pytest.raises(RateLimited) as refused:
        limiter.hit("1.2.3.4", "create")
    assert refused.value.retry_after == 4
    clock.now += 5  # the first call is a minute old, and out of the window
    limiter.hit("1.2.3.4", "create")


def test_clients_and_actions_have_separate_limits():
    limiter = RateLimiter({"create": 1, "move": 1})
    limiter.hit("a", "create")
    limiter.hit("b", "create")
    limiter.hit("a", "move")
    with pytest.raises(RateLimited):
        limiter.hit("a", "create")


def test_a_zero_or_absent_limit_is_no_limit():
    limiter = RateLimiter({"create": 0})
    for _ in range(1000):
        limiter.hit("a", "create")
        limiter.hit("a", "chat")


def test_calls_from_many_clients_start_no_thread_and_leave_nothing_running():
    limiter = RateLimiter({"move": 120})
    before = threading.active_count()
    for number in range(10_000):
        limiter.hit(f"10.0.{number // 256}.{number % 256}", "move")
    assert threading.active_count() == before  # expired calls are dropped when their window is next looked at


def test_past_the_windows_kept_the_least_recently_used_client_starts_afresh():
    windows, once = LocalWindows(kept=2), RateLimitItemPerMinute(1)
    assert [windows.hit(once, "move", client) for client in ("a", "b")] == [None, None]
    assert windows.hit(once, "move", "a") is not None  # refused: a is now the most recently used
    assert windows.hit(once, "move", "c") is None  # b, the least recently used, is forgotten
    assert windows.hit(once, "move", "a") is not None
    assert windows.hit(once, "move", "b") is None  # afresh; c is forgotten in turn


def test_every_process_counts_against_the_same_limit_in_redis(redis_server):
    store = redis_store(redis_server)
    processes = [RateLimiter({"move": 3}, rate_storage(store)) for _ in range(2)]
    for limiter in (*processes, processes[0]):
        limiter.hit("a", "move")
    with pytest.raises(RateLimited) as refused:
        processes[1].hit("a", "move")
    assert refused.value.retry_after == 60
    processes[1].hit("b", "move")
    store.close()


def service_with(store: RoomStore | None = None, **per_minute: int) -> GameService:
    return GameService(Opponent(None, random.Random(7)), store=store, limiter=RateLimiter(per_minute))


async def test_the_service_limits_each_action_per_client():
    service = service_with(create=2, move=1, chat=1)
    room = service.create_room(client="a")
    service.create_room(client="a")
    with pytest.raises(RateLimited, match="Too many create requests"):
        service.create_room(client="a")
    service.create_room(client="b")
    await service.play(room.id, 4, client="a")
    with pytest.raises(RateLimited, match="Too many move requests"):
        await service.play(room.id, 0, client="a")
    await service.chat(room.id, "hi", client="a")
    with pytest.raises(RateLimited, match="Too many chat requests"):
        await service.chat(room.id, "hi again", client="a")
    assert [m["position"] for m in room.to_dict()["moves"] if m["mark"] == "X"] == [4]


def test_an_idle_room_expires_and_says_why():
    store = RoomStore(ttl=600, capacity=10)
    room = store.add("easy", "O-Bot")
    room.updated_at -= 599
    assert store.get(room.id) is room
    room.updated_at -= 1
    with pytest.raises(RoomNotFound) as gone:
        store.get(room.id)
    assert gone.value.message == (
        f"No room {room.id!r}: rooms are deleted 10 minutes after their last move or message. "
        "Check the id, or start a new game with create_room."
    )
    assert len(store) == 0


def test_a_room_whose_opponent_is_thinking_never_expires():
    store = RoomStore(ttl=600, capacity=10)
    room = store.add(None, "Mistral")
    room.thinking = True
    room.updated_at -= 6000
    assert store.get(room.id) is room


def test_the_cap_refuses_new_rooms_until_one_expires():
    store = RoomStore(ttl=600, capacity=3)
    rooms = [store.add("easy", "O-Bot") for _ in range(3)]
    rooms[1].updated_at -= 500  # the next to expire, in 100 s
    with pytest.raises(TooManyRooms) as full:
        store.add("easy", "O-Bot")
    assert full.value.retry_after == 100
    assert full.value.message == "The server holds its maximum of 3 games. Try again in 100 s."
    rooms[1].updated_at -= 100
    store.add("easy", "O-Bot")
    assert len(store) == 3
    with pytest.raises(RoomNotFound):
        store.get(rooms[1].id)


def test_expired_rooms_are_swept_when_rooms_are_created():
    store = RoomStore(ttl=600, capacity=100)
    old = [store.add("easy", "O-Bot") for _ in range(50)]
    for room in old:
        room.updated_at -= 600
    store._next_expiry -= 600
    store.add("easy", "O-Bot")
    assert len(store) == 1


async def test_a_move_chosen_on_an_old_version_is_refused_with_the_board(service):
    room = service.create_room("hard")
    seen = room.version
    await service.play(room.id, 0, expected_version=seen)
    with pytest.raises(StaleVersion) as stale:
        await service.play(room.id, 8, expected_version=seen)
    assert stale.value.message == (
        f"The room is at version {room.version}, not {seen}: it changed since you looked. Check the board, "
        "then move again."
    )
    assert stale.value.room["board"] == ["X", "", "", "", "O", "", "", "", ""]
    await service.play(room.id, 8, expected_version=room.version)
    assert room.board.cells[8] == "X"


async def test_a_chat_line_between_looking_and_moving_does_not_make_the_move_stale(service):
    room = service.create_room("hard")
    seen = room.version
    await service.chat(room.id, "Watch this corner.")  # and the opponent answers: two versions, the same board
    turn = await service.play(room.id, 0, expected_version=seen)
    assert (turn.to_dict()["last_turn"], room.version) == ({"you": 0, "opponent": 4}, seen + 5)
    with pytest.raises(StaleVersion):
        await service.play(room.id, 8, expected_version=seen)  # the board has changed since
    with pytest.raises(StaleVersion):
        await service.play(room.id, 8, expected_version=room.version + 1)  # a version the room never was at
    assert room.board.cells[8] == ""


def test_the_boards_version_is_kept_and_a_room_kept_before_it_counts_its_own():
    room = Room("r", "easy", "O-Bot")
    room.play(HUMAN, 0, "human")
    room.say(HUMAN, "Your move.")
    snapshot = room.snapshot()
    assert Room.restore(snapshot).board_version == 1
    assert Room.restore({key: value for key, value in snapshot.items() if key != "board_version"}).board_version == 2


@pytest.mark.parametrize("version", ["3", 2.0, True])
async def test_expected_version_must_be_a_whole_number(service, version):
    room = service.create_room()
    with pytest.raises(InvalidRequest, match="expected_version must be a whole number"):
        await service.play(room.id, 4, expected_version=version)
    assert room.moves == []


def test_a_pairing_the_room_cap_refuses_keeps_both_places_in_the_queue():
    store = RoomStore(ttl=600, capacity=1)
    service = service_with(store)
    blocker = store.add("easy", "O-Bot")
    ann = service.people.enter_queue("", "Ann", "a")
    with pytest.raises(TooManyRooms) as full:
        service.people.enter_queue("", "Ben", "b")
    kept = re.fullmatch(
        r"No room could be made for you and your partner just now \(too_many_rooms\)\. Your place in the queue is "
        r"kept: call enter_queue again with ticket (\S+)\. Try again in 600 s\.",
        full.value.message,
    )
    assert (kept is not None, full.value.retry_after) == (True, 600)
    with pytest.raises(TooManyRooms, match=f"with ticket {ann['ticket']}"):
        service.people.enter_queue(ann["ticket"], "", "a")  # still full: Ann's retry keeps her place too
    blocker.updated_at -= 600  # a room frees up
    ben = service.people.enter_queue(kept[1], "", "b")
    again = service.people.enter_queue(ann["ticket"], "", "a")
    assert (ben["queue"], again["queue"], again["room_id"]) == ("matched", "matched", ben["room_id"])
    assert {ben["your_mark"], again["your_mark"]} == {"X", "O"}
    assert (ben["opponent"]["name"], again["opponent"]["name"]) == ("Ann", "Ben")
