"""The live pages' event streams, driven as uvicorn drives them: an ASGI scope, a browser that reads and leaves."""

import asyncio
import json

import pytest
from starlette.applications import Starlette

from tictactoe.doors.pages.live import Shown, Viewers
from tictactoe.state.room import Room

HONEST, GREEDY = "127.0.0.3", "127.0.0.2"


class Browser:
    """One event-stream request to `app` from `address`, read as it comes; `leave()` closes it, as a tab does."""

    def __init__(self, app, path: str, address: str = HONEST, query: str = ""):
        self._sent: asyncio.Queue = asyncio.Queue()
        self._gone = asyncio.Event()
        scope = {
            "type": "http",
            "asgi": {"version": "3.0", "spec_version": "2.3"},
            "http_version": "1.1",
            "method": "GET",
            "scheme": "http",
            "path": path,
            "raw_path": path.encode(),
            "root_path": "",
            "query_string": query.encode(),
            "headers": [(b"host", b"127.0.0.1")],
            "client": (address, 50000),
            "server": ("127.0.0.1", 7860),
        }
        self.task = asyncio.create_task(app(scope, self._receive, self._sent.put))

    async def _receive(self) -> dict:
        await self._gone.wait()
        return {"type": "http.disconnect"}

    async def status(self) -> tuple[int, dict]:
        """The answer's status and headers."""
        start = await asyncio.wait_for(self._sent.get(), 5)
        return start["status"], {name.decode(): value.decode() for name, value in start["headers"]}

    async def body(self) -> dict:
        """The whole body of a refusal, as JSON."""
        message = await asyncio.wait_for(self._sent.get(), 5)
        return json.loads(message["body"])

    async def event(self) -> dict:
        """The next `data:` event, decoded (comments and the retry line are skipped)."""
        while True:
            message = await asyncio.wait_for(self._sent.get(), 5)
            text = message.get("body", b"").decode()
            if text.startswith("data: "):
                return json.loads(text.removeprefix("data: "))

    async def leave(self) -> None:
        self._gone.set()
        await asyncio.wait_for(self.task, 5)


@pytest.fixture
def viewers(service):
    return Viewers(service, per_client=3, total=5)


@pytest.fixture
def app(viewers):
    return Starlette(routes=viewers.routes())


async def test_the_stream_sends_the_room_then_every_change(service, app):
    room = service.create_room("hard")
    browser = Browser(app, f"/rooms/{room.id}/events")
    status, headers = await browser.status()
    assert (status, headers["content-type"], headers["cache-control"]) == (
        200,
        "text/event-stream; charset=utf-8",
        "no-store",
    )
    assert (await browser.event())["version"] == room.version
    await service.play(room.id, 0)
    seen = await browser.event()
    while len(seen["moves"]) < 2 or seen["opponent"]["thinking"]:
        seen = await browser.event()
    assert seen["board"][:5] == ["X", "", "", "", "O"]
    await browser.leave()


async def test_the_spectators_stream_has_no_room_id(service, app):
    room = service.create_room()
    browser = Browser(app, f"/watch/{room.watch_id}/events")
    assert (await browser.status())[0] == 200
    state = await browser.event()
    assert "room_id" not in state
    assert room.id not in json.dumps(state)
    assert set(state["links"]) == {"watch"}
    await browser.leave()


@pytest.mark.parametrize("path", ["/rooms/nope/events", "/watch/nope/events"])
async def test_streams_of_unknown_rooms_are_a_json_404(app, path):
    browser = Browser(app, path)
    assert (await browser.status())[0] == 404
    assert (await browser.body())["error"]["code"] == "room_not_found"


async def test_a_wrong_seat_token_is_refused_before_the_stream_starts(service, app):
    seated = service.people.open_room("Ann", "127.0.0.9")
    browser = Browser(app, f"/rooms/{seated.room.id}/events", query="player_token=wrong")
    assert (await browser.status())[0] == 403
    assert (await browser.body())["error"]["code"] == "seat_required"


async def test_each_client_has_its_share_and_a_closed_stream_frees_its_place_at_once(service, viewers, app):
    room = service.create_room()
    greedy = [Browser(app, f"/watch/{room.watch_id}/events", GREEDY) for _ in range(3)]
    assert [(await browser.status())[0] for browser in greedy] == [200, 200, 200]
    refused = Browser(app, f"/watch/{room.watch_id}/events", GREEDY)
    status, headers = await refused.status()
    assert (status, headers["retry-after"]) == (503, "5")
    assert (await refused.body())["error"] == {
        "code": "too_many_viewers",
        "message": "You have too many live pages open on this server. Try again in 5 s.",
        "retry_after": 5,
    }
    honest = Browser(app, f"/watch/{room.watch_id}/events", HONEST)
    assert (await honest.status())[0] == 200
    await greedy[0].leave()
    assert viewers.open_streams() == 3
    again = Browser(app, f"/watch/{room.watch_id}/events", GREEDY)
    assert (await again.status())[0] == 200
    for browser in [*greedy[1:], honest, again]:
        await browser.leave()
    assert viewers.open_streams() == 0


async def test_the_server_wide_cap_holds_for_everyone(service, app):
    room = service.create_room()
    open_ = [Browser(app, f"/watch/{room.watch_id}/events", f"127.0.1.{n}") for n in range(5)]
    assert [(await browser.status())[0] for browser in open_] == [200] * 5
    refused = Browser(app, f"/watch/{room.watch_id}/events", "127.0.1.99")
    assert (await refused.status())[0] == 503
    assert (await refused.body())["error"]["message"].startswith("Too many live pages are open on this server")
    for browser in open_:
        await browser.leave()


async def test_two_thousand_viewers_of_one_game_each_see_a_move(service):
    viewers = Viewers(service, per_client=10_000, total=10_000)
    app = Starlette(routes=viewers.routes())
    room = service.create_room("hard")
    crowd = [Browser(app, f"/watch/{room.watch_id}/events") for _ in range(2000)]
    for browser in crowd:
        await browser.status()
        await browser.event()
    await service.play(room.id, 4)
    seen = await asyncio.gather(*(browser.event() for browser in crowd))
    assert {state["board"][4] for state in seen} == {"X"}
    await asyncio.gather(*(browser.leave() for browser in crowd))
    assert viewers.open_streams() == 0


async def test_a_change_is_rendered_once_for_all_the_streams_of_a_kind_and_forgotten_with_the_last():
    room = Room("r" * 22, "easy", "O-Bot")
    rendered = []

    def view() -> dict:
        rendered.append(room.version)
        return room.to_dict()

    shown = Shown()
    streams = [shown.changes(room, (room.id, "watch"), view) for _ in range(3)]
    assert {await anext(stream) for stream in streams} == {"retry: 1000\n\n"}
    first = [await anext(stream) for stream in streams]
    room.say("X", "Hello")
    second = await asyncio.gather(*(anext(stream) for stream in streams))
    assert rendered == [0, 1]
    assert len(set(first)) == len(set(second)) == 1
    assert json.loads(second[0].removeprefix("data: "))["chat"][-1]["text"] == "Hello"
    for stream in streams:
        await stream.aclose()
    assert (shown._latest, shown._streams) == ({}, {})
