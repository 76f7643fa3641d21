"""The pages and their event streams, through Flask's test client (the browser drives them in test_browser.py)."""

import json
import random
import threading
import time

import pytest

from tests.conftest import mistral_service
from tictactoe import pages
from tictactoe.opponent import Opponent
from tictactoe.rest import create_app
from tictactoe.service import GameService


def events(response):
    """The `data:` payloads of an event stream, decoded, as they come."""
    for chunk in response.response:
        text = chunk.decode() if isinstance(chunk, bytes) else chunk
        if text.startswith("data: "):
            yield json.loads(text.removeprefix("data: "))


def new_room(client) -> dict:
    response = client.post("/rooms", json={"difficulty": "hard"})
    assert response.status_code == 201
    return response.get_json()


def path(url: str) -> str:
    return url.removeprefix("http://localhost")


def test_the_home_page_gives_connector_urls_as_the_request_reached_the_server(rest_client):
    page = rest_client.get("/", base_url="https://me-tictactoe.hf.space").get_data(as_text=True)
    assert "https://me-tictactoe.hf.space/sse" in page
    assert "https://me-tictactoe.hf.space/mcp" in page
    assert ">Mistral chooses its moves<" not in page  # no key, so only the engine's levels
    assert page.count("<option") == 3


def test_with_a_key_the_home_page_offers_mistral(fake_mistral):
    app = create_app(mistral_service(fake_mistral))
    assert ">Mistral chooses its moves<" in app.test_client().get("/").get_data(as_text=True)


def test_replies_link_the_rooms_pages(rest_client):
    room = new_room(rest_client)
    assert room["links"] == {
        "play": f"http://localhost/rooms/{room['room_id']}/view",
        "watch": room["links"]["watch"],
    }
    assert room["links"]["watch"].startswith("http://localhost/watch/")
    assert f"[play in your browser]({room['links']['play']})" in room["markdown"]


def test_the_player_page_carries_the_room_and_the_spectator_page_does_not(rest_client):
    room = new_room(rest_client)
    play = rest_client.get(path(room["links"]["play"]))
    watch = rest_client.get(path(room["links"]["watch"]))
    assert (play.status_code, watch.status_code) == (200, 200)
    assert 'data-mode="play"' in play.get_data(as_text=True)
    assert 'data-mode="watch"' in watch.get_data(as_text=True)
    assert room["room_id"] in play.get_data(as_text=True)
    assert room["room_id"] not in watch.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/rooms/nope/view", "/watch/nope", "/rooms/nope/events", "/watch/nope/events"])
def test_pages_of_unknown_rooms_are_404(rest_client, url):
    response = rest_client.get(url)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "room_not_found"


def test_spectators_cannot_move(rest_client):
    room = new_room(rest_client)
    response = rest_client.post(path(room["links"]["watch"]) + "/move", json={"position": 4})
    assert response.status_code == 403
    assert response.get_json()["error"] == {
        "code": "watch_only",
        "message": "You are watching this game: only its player can move. Start your own from the home page.",
    }
    assert rest_client.get(f"/rooms/{room['room_id']}").get_json()["moves"] == []


def test_the_stream_sends_the_room_then_every_change(rest_client):
    room = new_room(rest_client)
    response = rest_client.get(f"/rooms/{room['room_id']}/events", buffered=False)
    assert response.mimetype == "text/event-stream"
    assert response.headers["Cache-Control"] == "no-store"
    stream = events(response)
    assert next(stream)["version"] == room["version"]
    mover = threading.Timer(0.2, lambda: rest_client.post(f"/rooms/{room['room_id']}/move", json={"position": 0}))
    mover.start()
    seen = next(stream)
    while seen["opponent"]["thinking"] or len(seen["moves"]) < 2:
        seen = next(stream)
    assert seen["board"][:5] == ["X", "", "", "", "O"]
    response.close()
    mover.join()  # its reply comes through the app's event loop, which the fixture stops afterwards


def test_spectators_stream_has_no_room_id(rest_client):
    room = new_room(rest_client)
    response = rest_client.get(path(room["links"]["watch"]) + "/events", buffered=False)
    state = next(events(response))
    assert "room_id" not in state
    assert room["room_id"] not in json.dumps(state)
    assert set(state["links"]) == {"watch"}
    response.close()


def test_live_pages_are_capped_and_a_closed_stream_frees_its_place(monkeypatch):
    monkeypatch.setattr(pages, "EVENT_STREAMS", 1)
    app = create_app(GameService(Opponent(None, random.Random(7))))
    client = app.test_client()
    room = new_room(client)
    first = client.get(f"/rooms/{room['room_id']}/events", buffered=False)
    refused = client.get(f"/rooms/{room['room_id']}/events")
    assert refused.status_code == 503
    assert refused.headers["Retry-After"] == "5"
    assert refused.get_json()["error"]["code"] == "too_many_viewers"
    first.close()
    again = client.get(f"/rooms/{room['room_id']}/events", buffered=False)
    assert again.status_code == 200
    again.close()
    app.extensions["tictactoe.loop"].close()


def test_a_stream_ends_on_schedule_and_when_the_server_stops(monkeypatch, rest_client):
    monkeypatch.setattr(pages, "STREAM_SECONDS", 0.3)
    room = new_room(rest_client)
    started = time.monotonic()
    assert len(list(events(rest_client.get(f"/rooms/{room['room_id']}/events", buffered=False)))) == 1
    assert time.monotonic() - started < 2
    monkeypatch.setattr(pages, "STREAM_SECONDS", 60)
    response = rest_client.get(f"/rooms/{room['room_id']}/events", buffered=False)
    threading.Timer(0.2, rest_client.application.extensions["tictactoe.streams"].close).start()
    started = time.monotonic()
    assert len(list(events(response))) == 1
    assert time.monotonic() - started < 2  # within a second of the server stopping


def test_waiting_for_a_change_wakes_on_the_change(service):
    room = service.create_room()
    version = room.version
    assert room.wait_for_change(version, 0.05) is False
    threading.Timer(0.1, room.say, ("you", "hello")).start()
    assert room.wait_for_change(version, 5) is True
