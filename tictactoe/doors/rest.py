"""The REST API: thin Flask routes over the game service, JSON in and out, every error a JSON 4xx."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

from flask import Flask, jsonify, request
from werkzeug.exceptions import HTTPException

from tictactoe.doors import jsonin
from tictactoe.doors.http import refusal
from tictactoe.doors.markdown import history_markdown, room_markdown, stats_markdown, with_base
from tictactoe.doors.openapi import openapi_document
from tictactoe.doors.pages.routes import pages
from tictactoe.game.errors import (
    GameError,
    InvalidPosition,
    InvalidRequest,
)
from tictactoe.game.rules import as_json
from tictactoe.services.games import LOCAL, GameService, check_difficulty
from tictactoe.services.people import valid_name
from tictactoe.state.seats import ANONYMOUS, Player, token_key

log = logging.getLogger(__name__)
T = TypeVar("T")

BODY_LIMIT = 16 * 1024  # bytes in a request body


class LoopThread:
    """One event loop in a daemon thread, where Flask's worker threads run the async service."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._started()).result()

    def _started(self) -> asyncio.AbstractEventLoop:
        with self._lock:
            if self._loop is None:
                self._loop = asyncio.new_event_loop()
                threading.Thread(target=self._loop.run_forever, name="rest-loop", daemon=True).start()
            return self._loop

    def close(self) -> None:
        with self._lock:
            if self._loop is not None:
                self._loop.call_soon_threadsafe(self._loop.stop)
                self._loop = None


def create_app(service: GameService) -> Flask:
    """The Flask app for `service`: the REST API, the health check and the pages."""
    app = Flask(__name__, template_folder="pages/templates", static_folder="pages/static")
    app.config["MAX_CONTENT_LENGTH"] = BODY_LIMIT
    app.json.sort_keys = False
    app.json.ensure_ascii = False  # boards and emoji stay readable in curl
    loop = LoopThread()
    app.extensions["tictactoe.loop"] = loop

    def reply(state: dict, status: int = 200):
        state = with_base(state, request.host_url)
        return jsonify({**state, "markdown": room_markdown(state)}), status

    app.register_blueprint(pages(service))

    @app.get("/health")
    def health():
        return jsonify(status="ok", rooms=len(service.rooms), opponent=service.opponent.name)

    @app.get("/openapi.json")
    def openapi():
        return jsonify(openapi_document())

    @app.post("/rooms")
    def create_room():
        body = _json_body(optional=True)
        opponent, name = body.get("opponent", "ai"), valid_name(body.get("name", ""))
        if opponent == "human":
            check_difficulty(body.get("difficulty"))  # refused if wrong, though a room for two has no engine
            seated = service.people.open_room(name, _client())
            room, state = seated.room, seated.to_dict()
        elif opponent == "ai":
            room = service.create_room(body.get("difficulty"), client=_client(), player=Player(name=name))
            state = room.to_dict()
        else:
            raise InvalidRequest(f'opponent must be "ai" or "human", got {as_json(opponent)}.')
        response, status = reply(state, 201)
        response.headers["Location"] = f"/rooms/{room.id}"
        return response, status

    @app.get("/rooms/<room_id>")
    def get_room(room_id: str):
        return reply(service.room(room_id).seen_by(request.headers.get("X-Player-Token")))

    @app.get("/rooms/<room_id>/history")
    def history(room_id: str):
        room = service.room(room_id)
        history = with_base(room.history(room.mark_of(request.headers.get("X-Player-Token"))), request.host_url)
        return jsonify({**history, "markdown": history_markdown(history)})

    @app.get("/stats")
    def stats():
        limit = request.args.get("limit", "10")
        name = request.args.get("name", "")
        token = request.headers.get("X-Player-Token")
        whole = limit.isdecimal() and len(limit) <= 6  # longer is out of range anyway, and slow to convert
        found = service.stats(int(limit) if whole else limit, name, token_key(token) if token else ANONYMOUS)
        return jsonify({**found, "markdown": stats_markdown(found)})

    @app.post("/rooms/<room_id>/join")
    def join(room_id: str):
        body = _json_body(optional=True)
        return reply(service.people.join(room_id, body.get("name", "")).to_dict())

    @app.post("/rooms/<room_id>/leave")
    def leave(room_id: str):
        seated = service.people.leave(room_id, _token(_json_body()))
        return reply(seated.room.to_dict(seated.seat.mark))

    @app.post("/rooms/<room_id>/move")
    def move(room_id: str):
        body = _json_body()
        if "position" not in body:
            raise InvalidPosition('Send the cell to play, like {"position": 4} (0-8, left to right, top to bottom).')
        position, expected_version = _whole(body["position"]), _whole(body.get("expected_version"))
        token = _token(body)
        turn = service.play(
            room_id, position, client=_client(), expected_version=expected_version, token=token, via=_via()
        )
        return reply(loop.run(turn).to_dict())

    @app.post("/rooms/<room_id>/chat")
    def chat(room_id: str):
        body = _json_body()
        said = service.chat(room_id, body.get("message"), client=_client(), token=_token(body), via=_via())
        return reply(loop.run(said).to_dict())

    @app.errorhandler(GameError)
    def game_error(error: GameError):
        body, status, headers = refusal(error)
        return jsonify(body), status, headers

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        code = (error.name or "error").lower().replace(" ", "_")
        allow = {name: value for name, value in error.get_headers() if name == "Allow"}  # a 405 says what is allowed
        return jsonify(error={"code": code, "message": error.description}), error.code, allow

    @app.errorhandler(Exception)
    def unexpected(error: Exception):  # a bug of ours: log it, tell the client nothing internal
        route = request.url_rule.rule if request.url_rule else "an unknown path"  # the rule, not the room id
        log.exception("unhandled error on %s %s", request.method, route)
        return jsonify(error={"code": "internal_error", "message": "Something went wrong on our side."}), 500

    return app


def _token(body: dict) -> str | None:
    """The body's player_token: absent, or a string (checked even in a game against the opponent, which needs none)."""
    token = body.get("player_token")
    if token is not None and not isinstance(token, str):
        raise InvalidRequest(f"player_token must be a string, got {as_json(token)}.")
    return token


def _client() -> str:
    """Who is calling, for the rate limits: the address the gate resolved (through any trusted proxies)."""
    return request.remote_addr or LOCAL


def _via() -> str:
    """Where a move or message came from: this server's pages say so (X-Client: page); anything else is REST."""
    return "page" if request.headers.get("X-Client") == "page" else "rest"


def _whole(value: object) -> object:
    """JSON's 4.0 as the integer 4, as JSON Schema reads it; any other value as sent, for the game to judge."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


def _json_body(optional: bool = False) -> dict:
    """The request's JSON object, read strictly (jsonin); an absent body is {} when `optional`. Anything else is
    a 400 that says what is wrong with it."""
    data = request.get_data()
    if optional and not data:
        return {}
    try:
        body = jsonin.parse(data) if data else None
    except jsonin.JsonRefused as refused:
        raise InvalidRequest(refused.message) from None
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object, with Content-Type: application/json.")
    return body
