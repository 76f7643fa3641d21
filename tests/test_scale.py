"""Several processes as one server, on one Redis: two workers on one port, and two replicas on two ports. Any of
them serves any room on any transport (an SSE POST that lands on a worker other than the stream's is relayed to
it); news, waiting and the live pages reach across; a replica killed mid-turn loses nothing acknowledged and leaves
no room stuck; with Redis down every request answers a JSON 503 at once, and the server recovers by itself."""

import asyncio
import contextlib
import functools
import json
import os
import signal
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from bench.bench import NO_LIMITS, run_load
from bench.server_process import children, wait_listening
from tests.conftest import all_at_once
from tests.fake_mistral import FakeMistral
from tests.redis_server import RedisServer
from tests.servers import Served, http
from tests.test_people import Inbox, call, player


@pytest.fixture(scope="module")
def redis_url(tmp_path_factory):
    """A Redis for this module's servers alone: they share its keys, as one deployment's processes do."""
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    yield server.url
    server.stop()


@contextlib.contextmanager
def replicas(count: int, **env: str):
    """`count` servers on ports of their own, all on the same Redis."""
    started = [Served("mcp_server.py", **NO_LIMITS, **env) for _ in range(count)]
    try:
        yield started
    finally:
        for server in started:
            server.stop()


def next_event(stream) -> dict:
    """The room in the next `data:` line of a live page's event stream."""
    while not (line := stream.readline()).startswith(b"data: "):
        assert line, "the stream ended"
    return json.loads(line[len(b"data: ") :])


def test_two_workers_serve_many_players_on_both_transports_at_once(redis_url):
    with replicas(1, REDIS_URL=redis_url, WORKERS="2") as (server,):
        wait_listening(server.port, 2)
        results = asyncio.run(run_load(server.url, sse=24, http=8, games=1))
        log = server.stop()
    assert results.errors == []
    assert (len(results.games), results.finished) == (32, 32)
    assert log.count("Started server process") == 2


def test_a_worker_killed_is_replaced_and_the_server_serves_on(redis_url):
    with replicas(1, REDIS_URL=redis_url, WORKERS="2") as (server,):
        workers = [
            pid for pid in children(server.process.pid) if b"spawn_main" in Path(f"/proc/{pid}/cmdline").read_bytes()
        ]
        assert len(workers) == 2
        os.kill(workers[0], signal.SIGKILL)  # connections queued on its socket that instant are reset with it
        deadline = time.monotonic() + 10
        while f"worker {workers[0]} stopped" not in server.log.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert all(http("POST", f"{server.url}/rooms", {})[0] == 201 for _ in range(20))
        log = server.stop()
    assert f"worker {workers[0]} stopped (exit status -9); starting another" in log


def test_a_room_made_on_one_replica_is_played_and_watched_on_the_other(redis_url):
    with replicas(2, REDIS_URL=redis_url) as (here, there):
        _, room = http("POST", f"{here.url}/rooms", {"difficulty": "hard"})
        events = urllib.request.urlopen(f"{here.url}/rooms/{room['room_id']}/events", timeout=10)
        assert next_event(events)["version"] == room["version"]
        status, moved = http("POST", f"{there.url}/rooms/{room['room_id']}/move", {"position": 0})
        assert (status, moved["last_turn"]) == (200, {"you": 0, "opponent": 4})
        while (seen := next_event(events))["version"] < moved["version"]:
            assert seen["version"] > room["version"]  # the move alone, then the reply with its line
        assert (seen["version"], seen["board"], seen["chat"]) == (moved["version"], moved["board"], moved["chat"])
        events.close()
        assert http("GET", f"{here.url}/rooms/{room['room_id']}")[1]["moves"] == moved["moves"]


def test_moves_racing_on_two_replicas_land_once_a_turn_and_the_rest_are_told_why(redis_url):
    """Eight clients at once, four on each replica, each moving somewhere else on the board they all saw: exactly
    one move lands, the others are refused as the room stands (neither a 503 nor a second move)."""
    with replicas(2, REDIS_URL=redis_url) as servers:
        for _ in range(3):
            room_id = http("POST", f"{servers[0].url}/rooms", {"difficulty": "hard"})[1]["room_id"]
            for _ in range(2):  # no game ends before X's third move
                seen = http("GET", f"{servers[1].url}/rooms/{room_id}")[1]
                answers = all_at_once([
                    functools.partial(http, "POST", f"{servers[n % 2].url}/rooms/{room_id}/move",
                                      {"position": seen["legal_moves"][n % 4], "expected_version": seen["version"]})
                    for n in range(8)
                ])  # fmt: skip
                assert sorted(status for status, _ in answers) == [200] + [409] * 7, answers
                refusals = {body["error"]["code"] for status, body in answers if status == 409}
                assert refusals <= {"stale_version", "not_your_turn"}, answers
            moves = http("GET", f"{servers[0].url}/rooms/{room_id}")[1]["moves"]
            assert [move["mark"] for move in moves] == ["X", "O"] * 2


async def test_two_people_on_two_replicas_are_paired_told_and_take_turns(redis_url):
    with replicas(2, REDIS_URL=redis_url) as (here, there):
        ann_inbox, ben_inbox = Inbox(), Inbox()
        async with player(here, ann_inbox) as ann, player(there, ben_inbox) as ben:
            assert (await call(ann, "enter_queue", name="Ann"))["queue"] == "waiting"
            ben_seat = await call(ben, "enter_queue", name="Ben")
            found = await ann_inbox.next_event("chatroom.found")
            assert (found["room_id"], found["partner"]) == (ben_seat["room_id"], "Ben")
            x, o, o_inbox = (ben, ann, ann_inbox) if ben_seat["your_mark"] == "X" else (ann, ben, ben_inbox)
            room_id = ben_seat["room_id"]  # the one who waited knows it from the news alone, as a chat client does
            waiting = asyncio.create_task(call(o, "wait_for_turn", room_id=room_id, timeout_seconds=10))
            await asyncio.sleep(0.2)
            await call(x, "make_move", room_id=room_id, position=4)
            assert (await o_inbox.next_event("move.made"))["position"] == 4
            waited = await waiting
            assert (waited["event"], waited["board"][4]) == ("your_turn", "X")


def test_a_replica_killed_mid_turn_loses_nothing_and_leaves_no_room_stuck(redis_url):
    fake = FakeMistral(delay=30).start()  # the model never answers in time: the engine will, after 1 s
    env = {"REDIS_URL": redis_url, "MISTRAL_API_KEY": "k", "MISTRAL_SERVER_URL": fake.url, "MISTRAL_TIMEOUT": "1"}
    try:
        with replicas(2, **env) as (doomed, survivor):
            _, room = http("POST", f"{doomed.url}/rooms", {})
            path = f"/rooms/{room['room_id']}"
            threading.Timer(0.5, doomed.process.send_signal, (signal.SIGKILL,)).start()
            with pytest.raises(OSError):  # killed while the opponent thinks: the move was kept, not acknowledged
                http("POST", f"{doomed.url}{path}/move", {"position": 0})
            state = http("GET", f"{survivor.url}{path}")[1]
            assert (state["status"], state["opponent"]["thinking"], state["board"][0]) == ("opponent_turn", True, "X")
            deadline = time.monotonic() + 10  # the model's timeout and the margin past it
            while state["status"] == "opponent_turn" and time.monotonic() < deadline:
                time.sleep(0.5)
                state = http("GET", f"{survivor.url}{path}")[1]
            assert (state["status"], state["moves"][-1]["by"]) == ("your_turn", "engine")
            assert http("POST", f"{survivor.url}{path}/move", {"position": state["legal_moves"][0]})[0] == 200
    finally:
        fake.stop()


def test_with_redis_down_every_request_answers_a_json_503_at_once_and_the_server_recovers(tmp_path):
    redis = RedisServer(tmp_path / "redis", appendonly=True)
    try:
        with replicas(1, REDIS_URL=redis.url) as (server,):
            _, room = http("POST", f"{server.url}/rooms", {})
            redis.kill()
            started = time.monotonic()
            for method, path in [("GET", f"/rooms/{room['room_id']}"), ("POST", "/rooms"), ("GET", "/health")]:
                status, body = http(method, f"{server.url}{path}")
                assert (status, body["error"]["code"]) == (503, "store_unavailable")
            assert time.monotonic() - started < 3
            redis.start()
            time.sleep(1.1)  # the breaker tries Redis again
            assert http("GET", f"{server.url}/rooms/{room['room_id']}")[1]["room_id"] == room["room_id"]
    finally:
        redis.stop()
