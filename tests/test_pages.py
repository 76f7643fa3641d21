"""The pages, through Flask's test client (their event streams: test_live.py; the browser: test_browser.py)."""

import pytest

from tests.conftest import mistral_service
from tictactoe.doors.flask_app import create_app


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


def test_links_are_on_the_scheme_and_host_the_request_reached(rest_client):
    """Behind a trusted proxy the gate makes the scheme https; Flask sees it as the request's own."""
    room = rest_client.post("/rooms", json={}, base_url="https://play.example:8443").get_json()
    page = rest_client.get(f"/rooms/{room['room_id']}/view", base_url="https://play.example:8443")
    assert room["links"]["play"] == f"https://play.example:8443/rooms/{room['room_id']}/view"
    assert room["links"]["watch"].startswith("https://play.example:8443/watch/")
    assert room["links"]["play"] in page.get_data(as_text=True)


def test_the_player_page_carries_the_room_and_the_spectator_page_does_not(rest_client):
    room = new_room(rest_client)
    play = rest_client.get(path(room["links"]["play"]))
    watch = rest_client.get(path(room["links"]["watch"]))
    assert (play.status_code, watch.status_code) == (200, 200)
    assert 'data-mode="play"' in play.get_data(as_text=True)
    assert 'data-mode="watch"' in watch.get_data(as_text=True)
    assert room["room_id"] in play.get_data(as_text=True)
    assert room["room_id"] not in watch.get_data(as_text=True)


@pytest.mark.parametrize("url", ["/rooms/nope/view", "/watch/nope"])
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
