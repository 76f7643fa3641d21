"""Flask served in the event loop's own thread (serving/wsgi.py) when no request waits, and in threads when one may."""

import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx2
from flask import Flask, jsonify, request

from tests.conftest import TEST_KEY
from tests.fake_mistral import FakeMistral
from tests.servers import Served, http
from tictactoe.serving.wsgi import WsgiInLoop


def flask_app() -> Flask:
    app = Flask(__name__)

    @app.post("/echo")
    def echo():
        answer = jsonify(got=request.get_json(), thread=threading.get_ident())
        answer.headers["X-Seen"] = "yes"
        return answer, 201

    return app


def client_of(app) -> httpx2.AsyncClient:
    return httpx2.AsyncClient(transport=httpx2.ASGITransport(app=WsgiInLoop(app)), base_url="http://127.0.0.1:7860")


async def test_a_request_is_answered_whole_by_flask_in_the_loops_own_thread():
    async with client_of(flask_app()) as client:
        answer = await client.post("/echo", json={"position": 4})
    assert (answer.status_code, answer.headers["x-seen"]) == (201, "yes")
    assert answer.json() == {"got": {"position": 4}, "thread": threading.get_ident()}


async def test_a_head_request_gets_the_headers_and_no_body():
    app = flask_app()
    app.add_url_rule("/page", "page", lambda: "<p>Hi</p>")
    async with client_of(app) as client:
        answer = await client.head("/page")
    assert (answer.status_code, answer.headers["content-length"], answer.content) == (200, "9", b"")


async def test_a_plain_wsgi_app_may_write_as_it_goes_and_is_closed_after():
    closed = []

    def app(environ, start_response):
        write = start_response("200 OK", [("Content-Type", "text/plain")])
        write(b"first, ")

        class Rest:
            def __iter__(self):
                yield b"then "
                write(b"in between, ")
                yield b"the rest"

            def close(self):
                closed.append(True)

        return Rest()

    async with client_of(app) as client:
        answer = await client.get("/")
    assert (answer.text, closed) == ("first, then in between, the rest", [True])


async def test_an_error_answer_given_late_replaces_the_first():
    def app(environ, start_response):
        start_response("200 OK", [("Content-Type", "text/plain")])
        start_response("500 Internal Server Error", [("Content-Type", "text/plain")], (None, None, None))
        return [b"Something went wrong on our side."]

    async with client_of(app) as client:
        answer = await client.get("/")
    assert (answer.status_code, answer.text) == (500, "Something went wrong on our side.")


async def test_a_client_gone_before_its_body_is_not_answered_and_the_app_not_called():
    called, sent = [], []

    async def gone():
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "query_string": b"", "headers": [], "http_version": "1.1"}
    await WsgiInLoop(lambda environ, start_response: called.append(True))(scope, gone, send)
    assert (called, sent) == ([], [])


def threads_of(served: Served) -> set[str]:
    """The ids of the server's threads."""
    return {task.name for task in Path(f"/proc/{served.process.pid}/task").iterdir()}


def threads_after_moves(served: Served) -> tuple[set[str], set[str]]:
    """The server's threads (their ids) before and after 16 REST games' first moves, all at once."""
    rooms = [http("POST", f"{served.url}/rooms")[1]["room_id"] for _ in range(16)]
    before = threads_of(served)
    with ThreadPoolExecutor(16) as pool:
        moves = list(pool.map(lambda room: http("POST", f"{served.url}/rooms/{room}/move", {"position": 4}), rooms))
    assert [status for status, _ in moves] == [200] * 16
    return before, threads_of(served)


def test_with_the_built_in_engine_rest_moves_start_no_thread():
    served = Served("mcp_server.py")
    try:
        before, after = threads_after_moves(served)
    finally:
        served.stop()
    assert after - before == set()


def test_with_a_model_to_wait_on_rest_moves_each_have_a_thread():
    fake = FakeMistral(delay=0.3).start()  # each move's reply waits on the model: the moves are under way at once
    served = Served("mcp_server.py", MISTRAL_API_KEY=TEST_KEY, MISTRAL_SERVER_URL=fake.url, MISTRAL_MODEL="fake-model")
    try:
        before, after = threads_after_moves(served)
    finally:
        served.stop()
        fake.stop()
    assert len(after - before) >= 15  # a2wsgi's workers, one a move under way (one may be left from /health)
