"""Two people, one board: real MCP clients over SSE (and one over streamable HTTP) against the real server."""

import asyncio
import time

import pytest
from fastmcp import Client
from fastmcp.client.messages import MessageHandler

from tests.servers import Served, http
from tictactoe.game.errors import GameOver, NotYourTurn, RoomFull, SeatRequired
from tictactoe.game.rules import O, X
from tictactoe.services import people
from tictactoe.state.room import Room


class Inbox(MessageHandler):
    """What the server pushed to one client: room updates and the events that came with them."""

    def __init__(self) -> None:
        self.updated: list[str] = []
        self.events: list[dict] = []
        self.arrived = asyncio.Event()

    async def on_resource_updated(self, message) -> None:
        self.updated.append(str(message.params.uri))

    async def on_logging_message(self, message) -> None:
        self.events.append(message.params.data)
        self.arrived.set()

    async def next_event(self, name: str, timeout: float = 5) -> dict:
        async with asyncio.timeout(timeout):
            while True:
                found = [event for event in self.events if event["event"] == name]
                if found:
                    self.events.remove(found[0])
                    return found[0]
                self.arrived.clear()
                await self.arrived.wait()


@pytest.fixture(scope="module")
def server():
    served = Served("mcp_server.py", RATE_LIMIT_CREATE="0")
    yield served
    served.stop()


def player(server, inbox: Inbox | None = None) -> Client:
    return Client(f"{server.url}/sse", message_handler=inbox)


async def call(client, tool, **arguments):
    result = await client.call_tool(tool, arguments, raise_on_error=False)
    return result.structured_content


async def error_code(client, tool, **arguments) -> str:
    result = await client.call_tool(tool, arguments, raise_on_error=False)
    assert result.is_error, result.structured_content
    return result.structured_content["error"]["code"]


async def test_strangers_are_paired_told_and_take_turns(server):
    first_inbox, second_inbox = Inbox(), Inbox()
    async with player(server, first_inbox) as first, player(server, second_inbox) as second:
        waiting = await call(first, "enter_queue", name="Ada")
        assert (waiting["queue"], waiting["position"]) == ("waiting", 1)
        matched = await call(second, "enter_queue", name="Bob")
        assert matched["queue"] == "matched"
        room_id = matched["room_id"]
        found = await first_inbox.next_event("chatroom.found")
        assert (found["room_id"], found["partner"]) == (room_id, "Bob")
        again = await call(first, "enter_queue")
        assert (again["queue"], again["room_id"]) == ("matched", room_id)
        assert {again["your_mark"], matched["your_mark"]} == {X, O}
        assert found["your_mark"] == again["your_mark"]
        assert matched["opponent"]["name"] == "Ada"
        x, o = (first, second) if again["your_mark"] == X else (second, first)
        o_inbox = second_inbox if o is second else first_inbox
        assert await error_code(o, "make_move", position=4, room_id=room_id) == "not_your_turn"
        played = await call(x, "make_move", position=4, room_id=room_id)
        assert (played["board"][4], played["status"]) == (X, "opponent_turn")
        told = await o_inbox.next_event("move.made")
        assert (told["position"], told["mark"]) == (4, X)
        assert f"tictactoe://rooms/{room_id}" in o_inbox.updated
        waited = await call(o, "wait_for_turn", room_id=room_id, timeout_seconds=5)
        assert (waited["event"], waited["status"], waited["legal_moves"]) == (
            "your_turn",
            "your_turn",
            [0, 1, 2, 3, 5, 6, 7, 8],
        )
        listed = await call(o, "list_rooms")
        assert listed["rooms"] == [{"room_id": room_id, "status": "your_turn", "moves": 1, "current": True}]


async def test_wait_for_turn_returns_on_the_other_players_move_and_chat_is_relayed(server):
    inbox_a, inbox_b = Inbox(), Inbox()
    async with player(server, inbox_a) as alice, player(server, inbox_b) as bob:
        room = await call(alice, "create_room", opponent="human", name="Alice")
        assert room["status"] == "waiting_for_opponent"
        joined = await call(bob, "join_room", room_id=room["room_id"], name="Bob")
        assert (await inbox_a.next_event("chatroom.found"))["partner"] == "Bob"
        x, o = (alice, bob) if joined["your_mark"] == O else (bob, alice)
        o_name = "Bob" if o is bob else "Alice"
        waiter = asyncio.create_task(call(o, "wait_for_turn", timeout_seconds=10))
        await asyncio.sleep(0.3)
        assert not waiter.done()
        await call(x, "make_move", position=0)
        waited = await waiter
        assert (waited["event"], waited["board"][0]) == ("your_turn", X)
        assert waited["waited_seconds"] >= 0.2  # the 0.3 s slept, less the call's way to the server
        said = await call(o, "send_chat", message="Nice opening.")
        assert said["chat"][-1]["from"] == "you"
        x_inbox = inbox_a if x is alice else inbox_b
        heard = await x_inbox.next_event("message.received")
        assert (heard["text"], heard["from"]) == ("Nice opening.", o_name)
        state = await call(x, "get_room_state")
        assert [(line["from"], line["text"]) for line in state["chat"]] == [("opponent", "Nice opening.")]


async def test_a_player_waiting_alone_hears_when_the_partner_comes(server):
    async with player(server) as alice, player(server) as bob:
        room = await call(alice, "create_room", opponent="human")
        waiter = asyncio.create_task(call(alice, "wait_for_turn", timeout_seconds=10))
        await asyncio.sleep(0.3)
        assert not waiter.done()
        joined = await call(bob, "join_room", room_id=room["room_id"], name="Bob")
        waited = await waiter
        alice_is_x = joined["your_mark"] == O
        expected = ("your_turn", "your_turn") if alice_is_x else ("partner_joined", "opponent_turn")
        assert (waited["event"], waited["status"]) == expected
        assert waited["opponent"]["name"] == "Bob"


async def test_a_spectator_and_a_streamable_http_player_with_a_token(server):
    async with player(server) as host, Client(f"{server.url}/mcp") as guest, player(server) as third:
        room = await call(host, "create_room", opponent="human")
        room_id = room["room_id"]
        joined = await call(guest, "join_room", room_id=room_id, name="Guest")
        token = joined["player_token"]
        assert await error_code(third, "join_room", room_id=room_id) == "room_full"
        assert await error_code(third, "make_move", position=0, room_id=room_id) == "seat_required"
        watching = await call(third, "get_room_state", room_id=room_id)
        assert (watching["status"], watching["your_mark"]) == ("watching", None)
        assert await error_code(guest, "make_move", position=0, room_id=room_id) == "seat_required"  # no session
        x_is_guest = joined["your_mark"] == X
        first = (guest, {"player_token": token}) if x_is_guest else (host, {})
        second = (host, {}) if x_is_guest else (guest, {"player_token": token})
        for client, extra in (first, second, first, second, first):
            state = await call(
                client, "make_move", room_id=room_id, position=[0, 3, 1, 4, 2][len(room["moves"])], **extra
            )
            room = state
        assert (room["status"], room["winner"], room["winning_line"]) == ("won", X, [0, 1, 2])
        final = await call(third, "get_room_state", room_id=room_id)
        assert (final["status"], final["winner"]) == ("finished", X)


async def test_leaving_forfeits_and_tells_the_partner(server):
    inbox = Inbox()
    async with player(server) as leaver, player(server, inbox) as stayer:
        room = await call(leaver, "create_room", opponent="human")
        await call(stayer, "join_room", room_id=room["room_id"])
        left = await call(leaver, "leave_chat")
        assert left["status"] == "lost"
        told = await inbox.next_event("partner.disconnected")
        assert told["room_id"] == room["room_id"]
        waited = await call(stayer, "wait_for_turn", timeout_seconds=1)
        assert (waited["event"], waited["status"]) == ("partner_left", "won")
        assert waited["forfeited_by"] == left["your_mark"]
        assert await error_code(stayer, "make_move", position=0) == "game_over"


async def test_many_at_once_in_the_queue_are_paired_once_each(server):
    clients = [player(server) for _ in range(9)]
    async with asyncio.timeout(30):
        for client in clients:
            await client.__aenter__()
        try:
            first = await asyncio.gather(*(call(c, "enter_queue", name=f"P{i}") for i, c in enumerate(clients)))
            final = await asyncio.gather(*(call(c, "enter_queue") for c in clients))
        finally:
            for client in clients:
                await client.__aexit__(None, None, None)
    assert sorted(answer["queue"] for answer in final) == ["matched"] * 8 + ["waiting"]
    rooms: dict[str, list[str]] = {}
    for answer in final:
        if answer["queue"] == "matched":
            rooms.setdefault(answer["room_id"], []).append(answer["your_mark"])
    assert len(rooms) == 4
    assert all(sorted(marks) == [O, X] for marks in rooms.values())
    assert len({answer["ticket"] for answer in first}) == 9
    names = [http("GET", f"{server.url}/rooms/{room_id}")[1] for room_id in rooms]
    assert all(state["status"] == "watching" for state in names)


async def test_wait_for_turn_is_bounded(server):
    async with player(server) as alice, player(server) as bob:
        room = await call(alice, "create_room", opponent="human")
        joined = await call(bob, "join_room", room_id=room["room_id"])
        o = bob if joined["your_mark"] == O else alice
        waited = await call(o, "wait_for_turn", timeout_seconds=0.2)
        assert (waited["event"], waited["status"]) == ("timeout", "opponent_turn")
        assert await error_code(o, "wait_for_turn", timeout_seconds=121) == "invalid_request"


async def test_a_player_whose_connection_stays_closed_past_the_grace_period_forfeits():
    served = Served("mcp_server.py", DISCONNECT_GRACE_SECONDS="1")
    try:
        inbox = Inbox()
        async with player(served, inbox) as stayer:
            async with player(served) as dropper:
                room = await call(dropper, "create_room", opponent="human")
                await call(stayer, "join_room", room_id=room["room_id"])
            told = await inbox.next_event("partner.disconnected", timeout=10)
            assert told["forfeit"] == room["your_mark"]
            state = await call(stayer, "get_room_state")
            assert (state["status"], state["forfeited_by"]) == ("won", room["your_mark"])
    finally:
        served.stop()


async def test_a_player_back_within_the_grace_period_keeps_the_seat():
    served = Served("mcp_server.py", DISCONNECT_GRACE_SECONDS="2")
    try:
        async with player(served) as stayer:
            async with player(served) as dropper:
                room = await call(dropper, "create_room", opponent="human")
                await call(stayer, "join_room", room_id=room["room_id"])
            async with player(served) as back:
                state = await call(back, "get_room_state", room_id=room["room_id"], player_token=room["player_token"])
                await asyncio.sleep(3)
                state = await call(back, "get_room_state", room_id=room["room_id"])
            assert state["status"] in ("your_turn", "opponent_turn")
            assert state["forfeited_by"] is None
    finally:
        served.stop()


@pytest.mark.parametrize("store", ["ROOMS_DB", "REDIS_URL"])
async def test_a_player_whose_connection_is_not_back_after_a_crash_forfeits_when_the_grace_period_ends(
    store, tmp_path, request
):
    kept = str(tmp_path / "rooms.db") if store == "ROOMS_DB" else request.getfixturevalue("redis_server").url
    env = {store: kept, "DISCONNECT_GRACE_SECONDS": "1"}
    served = Served("mcp_server.py", **env)
    try:
        async with player(served) as host:
            room = await call(host, "create_room", opponent="human")
        assert http("POST", f"{served.url}/rooms/{room['room_id']}/join", {"name": "Ben"})[0] == 200
        served.process.kill()  # within the grace period, whose timer dies with the process
        served.process.wait(timeout=10)
    finally:
        served.stop()
    restarted = Served("mcp_server.py", **env)
    try:
        deadline = time.monotonic() + 10
        while (state := http("GET", f"{restarted.url}/rooms/{room['room_id']}")[1])["forfeited_by"] is None:
            assert time.monotonic() < deadline, state
            await asyncio.sleep(0.2)
        assert (state["status"], state["forfeited_by"]) == ("finished", room["your_mark"])
    finally:
        restarted.stop()


def test_two_people_over_rest(rest_client):
    created = rest_client.post("/rooms", json={"opponent": "human", "name": "Ann"})
    assert created.status_code == 201
    host = created.get_json()
    assert (host["status"], host["opponent"]["name"]) == ("waiting_for_opponent", None)
    room = f"/rooms/{host['room_id']}"
    joined = rest_client.post(f"{room}/join", json={"name": "Ben"}).get_json()
    assert joined["opponent"]["name"] == "Ann"
    assert rest_client.post(f"{room}/join", json={}).get_json()["error"]["code"] == "room_full"
    tokens = {host["your_mark"]: host["player_token"], joined["your_mark"]: joined["player_token"]}
    refused = rest_client.post(f"{room}/move", json={"position": 4})
    assert (refused.status_code, refused.get_json()["error"]["code"]) == (403, "seat_required")
    early = rest_client.post(f"{room}/move", json={"position": 4, "player_token": tokens[O]})
    assert (early.status_code, early.get_json()["error"]["code"]) == (409, "not_your_turn")
    played = rest_client.post(f"{room}/move", json={"position": 4, "player_token": tokens[X]})
    assert (played.status_code, played.get_json()["status"]) == (200, "opponent_turn")
    mine = rest_client.get(room, headers={"X-Player-Token": tokens[O]}).get_json()
    assert (mine["your_mark"], mine["status"], mine["moves"][0]["by"]) == (O, "your_turn", "opponent")
    watched = rest_client.get(room).get_json()
    assert (watched["your_mark"], watched["status"], watched["moves"][0]["by"]) == (None, "watching", "human")
    said = rest_client.post(f"{room}/chat", json={"message": "hi", "player_token": tokens[O]}).get_json()
    assert [(line["from"], line["text"]) for line in said["chat"]] == [("you", "hi")]
    left = rest_client.post(f"{room}/leave", json={"player_token": tokens[O]}).get_json()
    assert (left["status"], left["forfeited_by"], left["winner"]) == ("lost", O, X)


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"opponent": "robot"}, 400, "invalid_request"),
        ({"opponent": "human", "name": 5}, 400, "invalid_request"),
        ({"opponent": "human", "name": "x" * 41}, 400, "invalid_request"),
    ],
)
def test_bad_rooms_for_two_are_refused(rest_client, body, status, code):
    response = rest_client.post("/rooms", json=body)
    assert (response.status_code, response.get_json()["error"]["code"]) == (status, code)


def test_a_game_against_the_opponent_has_no_seat_to_join(rest_client):
    room = rest_client.post("/rooms").get_json()
    response = rest_client.post(f"/rooms/{room['room_id']}/join", json={})
    assert (response.status_code, response.get_json()["error"]["code"]) == (409, "room_full")


LEFT = (
    "You left this game, so your seat can no longer move or chat in it. "
    "Start a new one with create_room or enter_queue."
)


async def test_a_room_left_before_anyone_joined_is_closed_for_good(service):
    host = service.people.open_room("Ann", "local")
    room, token = host.room, host.seat.token
    left = service.people.leave(room.id, token).to_dict()
    assert (left["status"], left["winner"], left["forfeited_by"], left["legal_moves"]) == ("finished", None, None, [])
    with pytest.raises(RoomFull) as full:
        service.people.join(room.id, "Ben")
    assert full.value.message == (
        "The person who made this room left before anyone joined, so it is closed for good. "
        "You can start a game with create_room or enter_queue."
    )
    with pytest.raises(SeatRequired) as refused:
        await service.play(room.id, 4, token=token)
    assert refused.value.message == LEFT
    with pytest.raises(GameOver, match="closed for good"):
        room.play(host.seat.mark, 4, "human")  # the room itself refuses too, whoever asks
    assert service.room(room.id).to_dict(None)["status"] == "finished"
    assert service.rooms.scores.games() == 0
    assert service.stats(player=host.seat.player)["you"]["games"] == 0
    restored = Room.restore(room.snapshot())
    assert (restored.closed, restored.to_dict(None)) == (True, room.to_dict(None))


async def test_a_seat_that_left_can_no_longer_move_or_chat_but_can_still_look(service):
    host = service.people.open_room("Ann", "local")
    guest = service.people.join(host.room.id, "Ben")
    room_id = host.room.id
    x, o = (host, guest) if host.seat.mark == X else (guest, host)
    await service.play(room_id, 4, token=x.seat.token)
    service.people.leave(room_id, o.seat.token)
    with pytest.raises(SeatRequired) as moved:
        await service.play(room_id, 0, token=o.seat.token)
    with pytest.raises(SeatRequired) as said:
        await service.chat(room_id, "gg", token=o.seat.token)
    assert moved.value.message == said.value.message == LEFT
    await service.chat(room_id, "gg", token=x.seat.token)  # the one who stayed still can
    assert service.room(room_id).seen_by(o.seat.token)["status"] == "lost"


async def test_nobody_moves_before_a_second_person_has_joined(service):
    host = service.people.open_room("Ann", "local")
    with pytest.raises(NotYourTurn) as refused:
        await service.play(host.room.id, 4, token=host.seat.token)
    assert (
        refused.value.message == "Nobody has joined yet: share the room_id, and wait_for_turn returns once they have."
    )
    assert host.room.to_dict(host.seat.mark)["moves"] == []


async def test_leaving_twice_changes_nothing_the_second_time(service):
    host = service.people.open_room("Ann", "local")
    service.people.join(host.room.id, "Ben")
    service.people.leave(host.room.id, host.seat.token)
    version = host.room.version
    again = service.people.leave(host.room.id, host.seat.token).to_dict()
    assert (again["version"], again["forfeited_by"]) == (version, host.seat.mark)


def test_a_place_in_the_queue_is_given_up_by_whoever_stops_asking(service, monkeypatch):
    monkeypatch.setattr(people, "QUEUE_PATIENCE", 0.05)
    gone = service.people.enter_queue("", "Gone", "local")
    time.sleep(0.1)
    assert service.people.enter_queue("", "Bo", "local")["position"] == 1  # not paired with someone long gone
    back = service.people.enter_queue(gone["ticket"], "", "local")  # asking again queues them anew, and pairs
    assert (back["queue"], back["opponent"]["name"]) == ("matched", "Bo")
