"""The OpenAPI document against the app: served, valid, and every answer to a schemathesis fuzz conforms to it."""

import random

import pytest
import schemathesis
from a2wsgi import WSGIMiddleware
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from tictactoe.doors.flask_app import create_app
from tictactoe.doors.openapi import openapi_document
from tictactoe.game.engine import DIFFICULTIES
from tictactoe.players.opponent import Opponent
from tictactoe.services.games import GameService
from tictactoe.services.limits import RateLimiter
from tictactoe.serving.gate import Gate, Policy

FUZZ_EXAMPLES = 60  # cases per operation in the fuzzing phase, after the coverage phase's edge cases
GAMES, STEPS = 15, 8  # stateful scenarios, and the calls in each, following the document's links from a new room


def fuzzed_api():
    """The app's own document, loaded from a fresh app that holds one room per difficulty to play in."""
    app = create_app(GameService(Opponent(None, random.Random(7))))
    schema = schemathesis.openapi.from_wsgi("/openapi.json", app)
    # Positive and negative data, and the same cases on every run: no example database to replay from.
    schema.config.generation.update(
        modes=list(schemathesis.GenerationMode), max_examples=FUZZ_EXAMPLES, deterministic=True, database="none"
    )
    client = app.test_client()
    rooms = [client.post("/rooms", json={"difficulty": level}).get_json() for level in DIFFICULTIES]
    real_ids = {
        "room_id": [room["room_id"] for room in rooms],
        "watch_id": [room["links"]["watch"].rsplit("/", 1)[1] for room in rooms],
    }

    @schema.hook
    def flatmap_path_parameters(context, path_parameters):
        # Made-up ids only ever find nothing: real rooms are played until they end, for the 200s and 409s.
        name = next((key for key in real_ids if key in (path_parameters or {})), None)
        if name is None:  # no id, or it is not generated here but given (by a link)
            return st.just(path_parameters)
        real = st.sampled_from(real_ids[name]).map(lambda value: {**path_parameters, name: value})
        return real | st.just(path_parameters)

    return schema


api = fuzzed_api()
calls = api.exclude(path_regex="/events$")  # a live stream answers for a minute: tests/test_pages.py reads them


@pytest.fixture(scope="module", autouse=True)
def _stop_the_loop():
    yield
    api.app.extensions["tictactoe.loop"].close()


def test_the_document_is_served_and_valid():
    response = api.app.test_client().get("/openapi.json")
    assert response.status_code == 200
    assert response.get_json() == openapi_document()
    schema = schemathesis.openapi.from_dict(openapi_document())
    schema.validate()
    assert [result.ok().label for result in schema.get_all_operations()] == [
        "GET /",
        "GET /health",
        "GET /openapi.json",
        "POST /rooms",
        "GET /rooms/{room_id}",
        "GET /rooms/{room_id}/history",
        "GET /stats",
        "POST /rooms/{room_id}/join",
        "POST /rooms/{room_id}/leave",
        "POST /rooms/{room_id}/move",
        "POST /rooms/{room_id}/chat",
        "GET /rooms/{room_id}/view",
        "GET /rooms/{room_id}/events",
        "GET /watch/{watch_id}",
        "GET /watch/{watch_id}/events",
        "POST /watch/{watch_id}/move",
    ]


@calls.parametrize()
def test_every_answer_conforms_to_the_document(case):
    case.call_and_validate()


def test_games_that_follow_the_links_conform_to_the_document():
    game = settings(
        max_examples=GAMES,
        stateful_step_count=STEPS,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    calls.as_state_machine().run(settings=game)


def test_the_gates_refusals_conform_to_the_document():
    service = GameService(Opponent(None, random.Random(7)), limiter=RateLimiter({"create": 1}))
    policy = Policy(allowed_hosts=frozenset({"testserver"}), token="secret")  # testserver: the ASGI client's Host
    schema = schemathesis.openapi.from_asgi("/openapi.json", Gate(WSGIMiddleware(create_app(service)), policy))
    token = {"Authorization": "Bearer secret"}
    calls = [
        ({}, {}, 401),
        ({**token, "Origin": "https://elsewhere.example"}, {}, 403),
        ({**token, "Host": "elsewhere.example"}, {}, 421),
        (token, {"padding": "x" * 70_000}, 413),
        (token, {}, 201),
        (token, {}, 429),  # one room a minute
    ]
    for headers, body, status in calls:
        case = schema["/rooms"]["POST"].Case(headers=headers, body=body)
        response = case.call()
        assert response.status_code == status
        case.validate_response(response)
