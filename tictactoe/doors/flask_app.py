"""The Flask app: every route the doors declare (the pages and the REST API) over one service, with every error
answered as JSON."""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import re
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

import orjson
from flask import Flask, jsonify, request
from flask.json.provider import DefaultJSONProvider
from werkzeug.exceptions import HTTPException

from tictactoe.doors.http import refusal
from tictactoe.doors.openapi import routes
from tictactoe.doors.routes import Api
from tictactoe.game.errors import GameError
from tictactoe.services.games import GameService

log = logging.getLogger(__name__)
T = TypeVar("T")

BODY_LIMIT = 16 * 1024  # bytes in a request body
COMPACT = (",", ":")  # the separators of Flask's compact JSON, as orjson writes it


class LoopThread:
    """One event loop in a daemon thread, where Flask's worker threads run the async service when it waits on
    something (Mistral)."""

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


def at_once(coro: Coroutine[Any, Any, T]) -> T:
    """What `coro` returns, run in this thread with no event loop: for one that awaits nothing that waits."""
    try:
        coro.send(None)
    except StopIteration as done:
        return done.value
    coro.close()
    raise RuntimeError("a coroutine run at once waited on something")


class FastJson(DefaultJSONProvider):
    """Flask's JSON, written by orjson: the same compact text (keys in their order, UTF-8 as it is, so that boards
    and emoji stay readable in curl) in a fifteenth of the time. A move's answer is 1.8 KB, which the standard
    library took 18 µs of the move's 250 to write. What orjson cannot write (an integer past 64 bits) and Flask's
    debug mode's indented text are Flask's own, as before. Reading stays Flask's: the REST API reads its bodies
    strictly itself (jsonin)."""

    sort_keys = False
    ensure_ascii = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs in ({}, {"separators": COMPACT}):  # not indented (debug mode), no options of a caller's own
            with contextlib.suppress(TypeError):
                return orjson.dumps(obj, default=self.default, option=orjson.OPT_NON_STR_KEYS).decode()
        return super().dumps(obj, **kwargs)


def create_app(service: GameService) -> Flask:
    """The Flask app for `service`: the REST API, the health check and the pages."""
    app = Flask(__name__, template_folder="pages/templates", static_folder="pages/static")
    app.config["MAX_CONTENT_LENGTH"] = BODY_LIMIT
    app.json = FastJson(app)
    loop = app.extensions["tictactoe.loop"] = LoopThread()
    # A service that answers at once (the built-in engine) runs in the worker's own thread: two switches between
    # threads fewer a request.
    api = Api(service, at_once if service.instant else loop.run)
    for route in routes():
        if route.handler is not None:
            view = functools.partial(route.handler, api)
            app.add_url_rule(
                re.sub(r"\{(\w+)\}", r"<\1>", route.path), route.operation.id, view, methods=[route.method]
            )
    _answer_errors_in_json(app)
    return app


def _answer_errors_in_json(app: Flask) -> None:
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
