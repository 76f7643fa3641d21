"""The Redis store as several processes see it: each process here is a store of its own on the same keys, as two
workers or replicas would have. A move is atomic across them, a change wakes whoever waits in another, news reaches
a connection another holds, a turn a dead process left half-done is finished, a seat a dead process's connection
reached is given up unless its holder comes back, each game counts once; Redis's TTL expires rooms; a Redis that is
down answers at once and is used again when it is back; with its append-only file, a Redis killed and restarted has
every acknowledged change."""

import asyncio
import functools
import random
import time

import pytest

from tests.conftest import PREFIXES, all_at_once, redis_store
from tests.redis_server import RedisServer
from tictactoe.doors.flask_app import create_app
from tictactoe.game.errors import GameError, RoomNotFound, TooManyRooms
from tictactoe.game.rules import HUMAN
from tictactoe.players.opponent import Opponent
from tictactoe.services.games import GameService
from tictactoe.serving.config import ConfigError, load_settings
from tictactoe.state.redis_store import RedisRoomStore
from tictactoe.state.seats import Player


@pytest.fixture
def processes(redis_server):
    """Two services on one Redis, under the same keys: two processes of one server."""
    prefix = next(PREFIXES)
    stores = [RedisRoomStore(redis_server.url, prefix=prefix) for _ in range(2)]
    yield [GameService(Opponent(None, random.Random(n)), store=store) for n, store in enumerate(stores)]
    for store in stores:
        store.close()


def race(attempts) -> list:
    """Each attempt (a coroutine function) run at the same instant as the others: what each gave, or its error code."""

    def outcome(attempt) -> object:
        try:
            return asyncio.run(attempt())
        except GameError as error:
            return error.code

    return all_at_once([functools.partial(outcome, attempt) for attempt in attempts])


def test_processes_racing_one_room_make_exactly_one_move_and_the_opponent_answers_once(processes):
    room = processes[0].create_room("hard")
    for turn, position in enumerate((0, 8)):  # O answers at 4, then at 1 or 3: no game ends before
        outcomes = race([lambda s=service, p=position: s.play(room.id, p) for service in processes * 4])
        played = [outcome for outcome in outcomes if not isinstance(outcome, str)]
        assert len(played) == 1, outcomes
        assert set(outcomes) - set(played) <= {"not_your_turn", "cell_occupied"}
        moves = processes[1].room(room.id).to_dict()["moves"]
        assert [move["mark"] for move in moves] == ["X", "O"] * (turn + 1)


async def test_a_move_no_other_process_races_takes_no_lease_one_look_and_a_save_for_each_change(processes):
    here, _ = processes
    room = here.create_room("easy")
    client = here.rooms.link.client
    client.config_resetstat()
    await here.play(room.id, 4)
    stats = client.info("commandstats")
    scripts = stats["cmdstat_evalsha"]["calls"] - stats["cmdstat_evalsha"]["failed_calls"]  # one Redis had not seen
    assert (scripts, "cmdstat_set" in stats) == (3, False)  # the look, the move's save, the reply's; no lease (SET NX)


async def test_a_change_decided_on_a_copy_another_process_moved_past_is_made_again_on_the_room_as_it_is(processes):
    here, there = processes
    here.people.rng = random.Random(1)  # draws X for the first seat
    ann = here.people.open_room("Ann", "local")
    stale = there.room(ann.room.id)  # as it was before Ben joined
    ben = here.people.join(ann.room.id, "Ben")
    # Refused on the copy (nobody has joined), played on the room as it is.
    await there.play(ann.room.id, 4, token=ann.seat.token, seen=stale)
    # Refused on here's copy (X's turn), played on the room.
    await here.play(ann.room.id, 0, token=ben.seat.token, seen=ann.room)
    # Refused on the room as it is for what is wrong there (not for what was wrong on the copy: O's turn).
    with pytest.raises(GameError) as refused:
        await there.play(ann.room.id, 0, token=ann.seat.token, seen=stale)
    assert refused.value.code == "cell_occupied"
    # Played on the copy (an empty board), refused on the room as it is.
    room = here.create_room("easy")
    stale = there.room(room.id)
    await here.play(room.id, 4)
    reply = here.room(room.id).to_dict()["moves"][1]["position"]
    with pytest.raises(GameError) as refused:
        await there.play(room.id, reply, seen=stale)
    assert refused.value.code == "cell_occupied"
    assert [move["position"] for move in there.room(room.id).to_dict()["moves"]] == [4, reply]
    assert [move["position"] for move in there.room(ann.room.id).to_dict()["moves"]] == [4, 0]


async def test_a_change_in_one_process_wakes_whoever_waits_in_another(processes):
    here, there = processes
    room = here.create_room("easy")
    seen = there.room(room.id)
    waiting = asyncio.create_task(seen.changed_since(seen.version, 5))
    await asyncio.sleep(0.05)
    started = time.monotonic()
    await here.play(room.id, 4)
    assert await waiting is True
    assert time.monotonic() - started < 1
    assert seen.to_dict()["moves"][0]["position"] == 4


async def test_a_process_hears_the_changes_of_the_rooms_someone_there_waits_on_and_no_others(processes):
    here, there = processes
    room = here.create_room("easy")
    channel = there.rooms.link.key("changes", room.id)
    listeners = lambda: there.rooms.link.client.pubsub_numsub(channel)[0][1]  # noqa: E731
    await here.play(room.id, 0)
    assert listeners() == 0  # nobody waits on it: a change wakes no process
    seen = there.room(room.id)
    waiting = asyncio.create_task(seen.changed_since(seen.version, 5))
    await asyncio.sleep(0.2)
    assert listeners() == 1
    await here.play(room.id, 8)
    assert await waiting is True
    there.rooms.link.client.delete(there.rooms.link.key("room", room.id))
    with pytest.raises(RoomNotFound):
        there.room(room.id)
    await asyncio.sleep(0.2)
    assert listeners() == 0


async def test_a_room_someone_still_holds_is_the_one_found_and_woken_after_it_was_let_go(processes, monkeypatch):
    monkeypatch.setattr("tictactoe.state.redis_store.RECENT", 2)
    here, there = processes
    room = here.create_room("easy")
    held = there.room(room.id)  # as a live page holds it, between two waits
    for _ in range(3):
        there.room(here.create_room("easy").id)  # other rooms used meanwhile push it out of those at hand
    assert there.room(room.id) is held  # one object per room: a change here reaches whoever waits on it
    waiting = asyncio.create_task(held.changed_since(held.version, 3))
    await asyncio.sleep(0.2)
    await here.play(room.id, 4)
    assert await waiting is True


async def test_news_reaches_a_connection_another_process_holds(processes):
    here, there = processes
    heard = []
    there.rooms.reach.listen("sse:ann", lambda event, data: heard.append((event, data)))
    ann = here.people.open_room("Ann", "local")
    there.people.hold(there.room(ann.room.id), ann.seat.token, "sse:ann")
    here.people.join(ann.room.id, "Ben")
    deadline = time.monotonic() + 2
    while not heard and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    assert heard == [("chatroom.found", {"room_id": ann.room.id, "your_mark": ann.seat.mark, "partner": "Ben",
                                         "first_move": "you" if ann.seat.mark == "X" else "partner"})]  # fmt: skip


async def test_seats_held_by_a_process_that_ended_are_given_up_after_the_grace_period_unless_their_holders_are_back(
    redis_server,
):
    prefix = next(PREFIXES)

    def process(grace: float = 60.0) -> GameService:
        return GameService(
            Opponent(None, random.Random(1)), store=RedisRoomStore(redis_server.url, prefix=prefix), grace=grace
        )

    async def seen_running(service: GameService, by: GameService) -> bool:
        """Whether `by` sees `service`'s process run, once its subscription has had time to open or close."""
        deadline = time.monotonic() + 2
        while by.rooms.running(service.rooms.process) != (not service.rooms._listening.stopping.is_set()):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.01)
        return by.rooms.running(service.rooms.process)

    dead, live = process(), process()
    assert await seen_running(live, dead) and await seen_running(dead, live)

    def pair(first: GameService, second: GameService | None):
        """A room for two: its first person reached through `first`'s connection, the second through `second`'s
        (None: over REST, through no connection)."""
        host = first.people.open_room("Ann", "local")
        guest = first.people.join(host.room.id, "Ben")
        first.people.hold(host.room, host.seat.token, f"sse:{host.seat.token}")
        if second is not None:
            second.people.hold(second.room(host.room.id), guest.seat.token, f"sse:{guest.seat.token}")
        return host, guest

    rest, live_partner, both, back, running = (
        pair(dead, None), pair(dead, live), pair(dead, dead), pair(dead, dead), pair(live, live)
    )  # fmt: skip
    alone = dead.people.open_room("Cy", "local")
    dead.people.hold(alone.room, alone.seat.token, "sse:cy")
    dead.rooms.close()  # however the process ends, Redis drops its subscription with its connection
    assert not await seen_running(dead, live)

    started = process(grace=0.2)
    started.people.restarted()
    await asyncio.sleep(0.1)
    started.people.hold(started.room(back[1].room.id), back[1].seat.token, "sse:again")  # Ben is back
    await asyncio.sleep(0.6)

    def forfeited_by(seated) -> str | None:
        return started.room(seated.room.id).to_dict(None)["forfeited_by"]

    not_back = (rest, live_partner, back)  # Ann, whose process ended, is not back; Ben is (or never left)
    assert [forfeited_by(host) for host, _ in not_back] == [host.seat.mark for host, _ in not_back]
    assert [forfeited_by(host) for host, _ in (both, running)] == [None, None]  # nobody waits; both run
    assert started.room(alone.room.id).status(None) == "finished"  # closed: nobody would be there to play
    started.people.hold(started.room(both[1].room.id), both[1].seat.token, "sse:late")  # back after it ended
    await asyncio.sleep(0.4)
    assert forfeited_by(both[0]) == both[0].seat.mark  # whoever comes back first gives the other their grace
    for service in (live, started):
        service.rooms.close()


def test_a_turn_a_dead_process_left_thinking_is_finished_by_whoever_looks_next(redis_server):
    prefix = next(PREFIXES)
    dead = RedisRoomStore(redis_server.url, prefix=prefix, thinking=0.5)
    room = dead.add("hard", "O-Bot")
    with room.change():
        room.play(HUMAN, 0, "human")
        room.thinking = True  # and the process dies before the opponent answers
    dead.close()
    alive = GameService(Opponent(None, random.Random(1)), store=RedisRoomStore(redis_server.url, prefix=prefix))
    state = alive.room(room.id).to_dict()
    assert (state["status"], state["opponent"]["thinking"]) == ("opponent_turn", True)
    time.sleep(0.6)
    state = alive.room(room.id).to_dict()
    assert (state["status"], state["board"][4], state["moves"][-1]["by"]) == ("your_turn", "O", "engine")
    alive.rooms.close()


async def test_each_game_counts_once_whichever_process_finishes_it(processes):
    for number in range(4):
        service = processes[number % 2]
        room = service.create_room("easy", player=Player(f"connection:{number}", "Ada"))
        while service.room(room.id).status() == "your_turn":
            await processes[(number + 1) % 2].play(room.id, service.room(room.id).board.legal_moves()[0])
    for service in processes:
        assert service.stats(name="Ada")["player"]["games"] == 4
        assert service.rooms.scores.games() == 4
        assert service.stats()["leaderboard"][0]["name"] == "Ada"


def test_rooms_expire_by_redis_ttl_and_the_cap_counts_the_live_ones(redis_server):
    store = redis_store(redis_server, ttl=1, capacity=2)
    first, _ = store.add("easy", "O-Bot"), store.add("easy", "O-Bot")
    with pytest.raises(TooManyRooms) as full:
        store.add("easy", "O-Bot")
    assert (full.value.retry_after, len(store)) == (1, 2)
    time.sleep(1.1)
    with pytest.raises(RoomNotFound):
        store.get(first.id)
    assert len(store) == 0
    store.add("easy", "O-Bot")
    store.close()


@pytest.fixture
def own_redis(tmp_path):
    """A Redis of the test's own, to stop and start."""
    server = RedisServer(tmp_path / "redis")
    yield server
    server.stop()


def test_with_redis_down_every_call_is_refused_at_once_and_served_again_when_it_is_back(own_redis):
    service = GameService(Opponent(None, random.Random(7)), store=redis_store(own_redis))
    app = create_app(service)
    client = app.test_client()
    room = client.post("/rooms").get_json()
    own_redis.kill()
    started = time.monotonic()
    for _ in range(20):
        refused = client.post(f"/rooms/{room['room_id']}/move", json={"position": 4})
        assert (refused.status_code, refused.get_json()["error"]["code"]) == (503, "store_unavailable")
    assert client.get("/health").status_code == 503
    assert time.monotonic() - started < 3
    own_redis.start()
    time.sleep(1.1)  # the breaker lets Redis be tried again
    # Without its append-only file, a Redis killed has lost what it held: the room is gone, and new ones are made.
    assert client.post(f"/rooms/{room['room_id']}/move", json={"position": 4}).status_code == 404
    assert client.post("/rooms").status_code == 201
    app.extensions["tictactoe.loop"].close()
    service.rooms.close()


async def test_with_the_append_only_file_a_redis_killed_and_restarted_has_every_acknowledged_change(tmp_path):
    server = RedisServer(tmp_path / "redis", appendonly=True, fsync="everysec")
    prefix = next(PREFIXES)
    service = GameService(Opponent(None, random.Random(7)), store=RedisRoomStore(server.url, prefix=prefix))
    rooms = [service.create_room("hard", player=Player("connection:a", "Ada")) for _ in range(5)]
    for room in rooms:
        await service.play(room.id, 0)
        await service.chat(room.id, "kept?")
    states = {room.id: service.room(room.id).to_dict() for room in rooms}
    server.kill()
    server.start()
    service.rooms.close()
    after = GameService(Opponent(None, random.Random(7)), store=RedisRoomStore(server.url, prefix=prefix))
    assert {room_id: after.room(room_id).to_dict() for room_id in states} == states
    after.rooms.close()
    server.stop()


@pytest.mark.parametrize(
    ("environ", "why"),
    [
        ({"WORKERS": "2"}, "WORKERS above 1 needs REDIS_URL: each process would otherwise keep rooms of its own"),
        ({"REDIS_URL": "http://redis:6379"}, "REDIS_URL must start with redis:// or rediss://"),
        ({"REDIS_URL": "redis://r:6379", "ROOMS_DB": "r.db"},
         "Set REDIS_URL or ROOMS_DB, not both: the rooms live in one place"),
    ],
)  # fmt: skip
def test_settings_that_cannot_work_together_are_refused(environ, why):
    with pytest.raises(ConfigError) as refused:
        load_settings(environ)
    assert str(refused.value) == why


def test_the_redis_password_is_never_shown():
    settings = load_settings({"REDIS_URL": "rediss://default:hunter2@redis.example:6380/0", "WORKERS": "2"})
    assert (settings.redis_url, settings.workers) == ("rediss://default:hunter2@redis.example:6380/0", 2)
    assert "hunter2" not in repr(settings)
