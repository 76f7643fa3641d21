import asyncio
import json
import random

import pytest

from tests.test_rules import board_of
from tictactoe.doors.flask_app import at_once, create_app
from tictactoe.doors.markdown import room_markdown
from tictactoe.players.opponent import Opponent
from tictactoe.services.games import GameService
from tictactoe.services.limits import RateLimiter
from tictactoe.state.store import RoomStore


def new_room(client, **body) -> dict:
    response = client.post("/rooms", json=body) if body else client.post("/rooms")
    assert response.status_code == 201
    return response.get_json()


def test_create_room_answers_201_with_the_room_and_markdown(rest_client):
    response = rest_client.post("/rooms")
    body = response.get_json()
    assert response.status_code == 201
    assert response.headers["Location"] == f"/rooms/{body['room_id']}"
    assert body["status"] == "your_turn"
    assert body["opponent"]["difficulty"] == "medium"
    assert body["markdown"] == room_markdown({k: v for k, v in body.items() if k != "markdown"})


def test_create_room_takes_a_difficulty(rest_client):
    assert new_room(rest_client, difficulty="hard")["opponent"]["difficulty"] == "hard"


@pytest.mark.parametrize("body", [{"difficulty": "expert"}, {"difficulty": 1}])
def test_create_room_with_a_bad_difficulty_is_400(rest_client, body):
    response = rest_client.post("/rooms", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_request"


def test_get_room_shows_the_same_representation(rest_client):
    created = new_room(rest_client)
    response = rest_client.get(f"/rooms/{created['room_id']}")
    assert response.status_code == 200
    assert response.get_json() == created


def test_move_plays_the_turn_and_answers_the_room(rest_client):
    room_id = new_room(rest_client, difficulty="hard")["room_id"]
    response = rest_client.post(f"/rooms/{room_id}/move", json={"position": 0})
    body = response.get_json()
    assert response.status_code == 200
    assert body["board"] == ["X", "", "", "", "O", "", "", "", ""]
    assert body["last_turn"] == {"you": 0, "opponent": 4}
    assert body["markdown"].startswith("You played **0**. O-Bot answered **4**.")


def test_chat_answers_in_character(rest_client):
    room_id = new_room(rest_client)["room_id"]
    response = rest_client.post(f"/rooms/{room_id}/chat", json={"message": "Good luck!"})
    body = response.get_json()
    assert response.status_code == 200
    assert [line["from"] for line in body["chat"]] == ["opponent", "you", "opponent"]
    assert body["chat"][1]["text"] == "Good luck!"


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ({"position": "4"}, "invalid_position"),
        ({"position": 4.5}, "invalid_position"),
        ({"position": True}, "invalid_position"),
        ({"position": None}, "invalid_position"),
        ({"position": 9}, "invalid_position"),
        ({"position": -1}, "invalid_position"),
        ({}, "invalid_position"),
        ([], "invalid_request"),
        ([4], "invalid_request"),
        ("4", "invalid_request"),
    ],
)
def test_bad_positions_are_400_and_change_nothing(rest_client, body, code):
    room = new_room(rest_client)
    response = rest_client.post(f"/rooms/{room['room_id']}/move", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == code
    assert rest_client.get(f"/rooms/{room['room_id']}").get_json() == room


NOT_AN_OBJECT = "The body must be a JSON object, with Content-Type: application/json."


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ("", NOT_AN_OBJECT),
        ("null", NOT_AN_OBJECT),
        ("not json", "The body is not valid JSON: Expecting value at line 1 column 1."),
        ("{", "The body is not valid JSON: Expecting property name enclosed in double quotes at line 1 column 2."),
        ('{"position": NaN}', "The body is not valid JSON: NaN is not a JSON number."),
        ('{"position": 1' + "0" * 5000 + "}", "The body holds a number too long to read."),
        (
            '{"position": 4, "x": ' + "[" * 33 + "]" * 33 + "}",
            "The JSON nests arrays and objects deeper than 32 levels.",
        ),
        (
            '{"position": 4, "x": ' + "[" * 5000 + "]" * 5000 + "}",
            "The JSON nests arrays and objects deeper than 32 levels.",
        ),
        ('{"position": 4, "player_token": "\\ud800"}', "player_token must be valid Unicode text; it has U+D800."),
        (b'{"position": 4, "x": "\xff"}', "The body is not UTF-8 text."),
    ],
)
def test_a_body_that_cannot_be_read_is_a_400_saying_why(rest_client, data, message):
    room = new_room(rest_client)
    response = rest_client.post(f"/rooms/{room['room_id']}/move", data=data, content_type="application/json")
    assert response.status_code == 400
    assert response.get_json() == {"error": {"code": "invalid_request", "message": message}}
    assert rest_client.get(f"/rooms/{room['room_id']}").get_json() == room


def test_json_without_the_content_type_header_is_accepted(rest_client):
    room_id = new_room(rest_client)["room_id"]
    response = rest_client.post(f"/rooms/{room_id}/move", data='{"position": 4}')
    assert response.status_code == 200


def test_occupied_cell_is_409_with_the_board(rest_client):
    room_id = new_room(rest_client)["room_id"]
    rest_client.post(f"/rooms/{room_id}/move", json={"position": 4})
    response = rest_client.post(f"/rooms/{room_id}/move", json={"position": 4})
    body = response.get_json()
    assert response.status_code == 409
    assert body["error"]["code"] == "cell_occupied"
    assert body["room"]["board"][4] == "X"


def test_move_after_game_over_is_409(rest_client, service):
    room_id = new_room(rest_client)["room_id"]
    service.room(room_id).board = board_of("XXXOO....")
    response = rest_client.post(f"/rooms/{room_id}/move", json={"position": 8})
    assert response.status_code == 409
    assert response.get_json()["error"]["code"] == "game_over"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", "/rooms/nope"), ("POST", "/rooms/nope/move"), ("POST", "/rooms/nope/chat")],
)
def test_unknown_room_is_404_json(rest_client, method, path):
    body = {"position": 4, "message": "hi"}
    response = rest_client.open(path, method=method, json=body if method == "POST" else None)
    assert response.status_code == 404
    assert response.get_json()["error"]["code"] == "room_not_found"


@pytest.mark.parametrize(
    "body", [{"message": 5}, {"message": ""}, {"message": "  "}, {"message": None}, {}, {"message": "x" * 501}]
)
def test_bad_chat_messages_are_400(rest_client, body):
    room = new_room(rest_client)
    response = rest_client.post(f"/rooms/{room['room_id']}/chat", json=body)
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "invalid_request"
    assert rest_client.get(f"/rooms/{room['room_id']}").get_json() == room


def test_oversized_body_is_413_json(rest_client):
    room_id = new_room(rest_client)["room_id"]
    response = rest_client.post(f"/rooms/{room_id}/chat", data="x" * 20_000, content_type="application/json")
    assert response.status_code == 413
    assert response.get_json()["error"]["code"] == "request_entity_too_large"


def test_unknown_path_and_wrong_method_answer_json(rest_client):
    assert rest_client.get("/nope").get_json()["error"]["code"] == "not_found"
    response = rest_client.delete("/rooms")
    assert response.status_code == 405
    assert response.get_json()["error"]["code"] == "method_not_allowed"


def test_health_and_landing_page(rest_client):
    assert rest_client.get("/health").get_json() == {"status": "ok", "rooms": 0, "opponent": "O-Bot"}
    page = rest_client.get("/", base_url="http://example.test")
    assert page.status_code == 200
    assert "http://example.test/sse" in page.get_data(as_text=True)
    assert rest_client.head("/").status_code == 200


def test_a_bug_answers_a_bare_json_500_without_internals(rest_client, service, monkeypatch, caplog):
    def broken(room_id):
        raise RuntimeError("internal detail /srv/secret.py")

    monkeypatch.setattr(service, "room", broken)
    response = rest_client.get("/rooms/any")
    assert response.status_code == 500
    assert response.get_json() == {"error": {"code": "internal_error", "message": "Something went wrong on our side."}}
    assert [r.getMessage() for r in caplog.records] == ["unhandled error on GET /rooms/<room_id>"]


def limited_client(**per_minute: int):
    service = GameService(Opponent(None, random.Random(7)), limiter=RateLimiter(per_minute))
    return create_app(service)


def test_too_many_requests_is_429_with_retry_after():
    app = limited_client(create=1, move=1)
    client = app.test_client()
    room = new_room(client)
    response = client.post("/rooms")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "60"
    assert response.get_json() == {
        "error": {
            "code": "rate_limited",
            "message": "Too many create requests: the limit is 1 a minute. Try again in 60 s.",
            "retry_after": 60,
        }
    }
    assert client.post(f"/rooms/{room['room_id']}/move", json={"position": 4}).status_code == 200
    assert client.post(f"/rooms/{room['room_id']}/move", json={"position": 0}).status_code == 429
    assert client.get(f"/rooms/{room['room_id']}").get_json()["board"].count("X") == 1
    app.extensions["tictactoe.loop"].close()


def test_a_full_server_is_429_with_retry_after():
    service = GameService(Opponent(None, random.Random(7)), store=RoomStore(ttl=600, capacity=1))
    app = create_app(service)
    client = app.test_client()
    new_room(client)
    response = client.post("/rooms")
    assert (response.status_code, response.headers["Retry-After"]) == (429, "600")
    assert response.get_json()["error"]["code"] == "too_many_rooms"


def test_a_move_on_an_old_version_is_409_stale_version(rest_client):
    room = new_room(rest_client)
    url, seen = f"/rooms/{room['room_id']}/move", room["version"]
    first = rest_client.post(url, json={"position": 4, "expected_version": seen})
    assert first.status_code == 200
    stale = rest_client.post(url, json={"position": 0, "expected_version": seen})
    assert stale.status_code == 409
    assert stale.get_json()["error"]["code"] == "stale_version"
    assert stale.get_json()["room"]["board"] == first.get_json()["board"]


def test_a_whole_number_written_as_4_0_is_the_cell_4(rest_client):
    room = new_room(rest_client)
    response = rest_client.post(f"/rooms/{room['room_id']}/move", json={"position": 4.0, "expected_version": 1.0})
    assert response.status_code == 200
    assert response.get_json()["moves"][0] == {"mark": "X", "position": 4, "by": "you"}


def test_a_wrong_method_says_which_are_allowed(rest_client):
    response = rest_client.delete("/rooms")
    assert response.status_code == 405
    assert set(response.headers["Allow"].split(", ")) == {"OPTIONS", "POST"}


def test_with_the_built_in_engine_a_turn_is_played_in_the_requests_own_thread(rest_client):
    room = new_room(rest_client)
    moved = rest_client.post(f"/rooms/{room['room_id']}/move", json={"position": 4}).get_json()
    said = rest_client.post(f"/rooms/{room['room_id']}/chat", json={"message": "Hi"}).get_json()
    assert (len(moved["moves"]), said["chat"][-2]["text"]) == (2, "Hi")
    assert rest_client.application.extensions["tictactoe.loop"]._loop is None  # no event loop was needed


def test_a_coroutine_that_waits_cannot_be_run_at_once():
    with pytest.raises(RuntimeError, match="waited on something"):
        at_once(asyncio.sleep(0))


def test_answers_are_the_compact_utf_8_json_flasks_own_writer_gives(rest_client):
    room = new_room(rest_client, name="Zoë 🎲")
    answer = rest_client.post(f"/rooms/{room['room_id']}/move", json={"position": 4})
    flasks = json.dumps(answer.get_json(), ensure_ascii=False, separators=(",", ":"))
    assert (answer.mimetype, answer.get_data(as_text=True)) == ("application/json", flasks + "\n")
    assert "│" in answer.get_data(as_text=True)  # the board's lines, as they are, not \u2502


def test_what_orjson_cannot_write_flask_writes_and_debug_mode_still_indents(rest_client):
    app = rest_client.application
    with app.app_context():
        assert app.json.dumps({"n": 2**70, 3: "x"}) == json.dumps({"n": 2**70, "3": "x"})  # past 64 bits: Flask's
        assert app.json.response({"n": 2**70}).get_data(as_text=True) == '{"n":1180591620717411303424}\n'
        app.debug = True
        try:
            assert app.json.response({"a": [1]}).get_data(as_text=True) == '{\n  "a": [\n    1\n  ]\n}\n'
        finally:
            app.debug = False
