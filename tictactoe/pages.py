"""The pages: the landing page and the live board, fed by server-sent events from the rooms themselves.

A room's page comes in two kinds: the player's (`/rooms/<id>/view`, it can move and chat) and the spectators'
(`/watch/<watch_id>`, it shows the same game, live, without the id that lets one play).
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator

from flask import Blueprint, Response, render_template, request

from tictactoe.engine import DIFFICULTIES
from tictactoe.errors import TooManyViewers, WatchOnly
from tictactoe.rooms import Room, spectator_view
from tictactoe.service import GameService
from tictactoe.views import with_base

EVENT_STREAMS = 64  # live pages open at once; each holds a thread of its own while it is open
STREAM_SECONDS = 60  # a stream then ends and the page reconnects: a page that went away frees its thread by then
HEARTBEAT_SECONDS = 15  # a comment line this often keeps proxies from closing a quiet stream
RETRY_MS = 1000  # how soon the browser reconnects after a stream ends
WAIT_SECONDS = 1.0  # a stream waits for a change this long at a time, then checks whether it should end


def pages(service: GameService, streams: Streams) -> Blueprint:
    """The landing page, the room pages and their event streams, over `service`."""
    blueprint = Blueprint("pages", __name__)

    @blueprint.get("/")
    def index():
        levels = ([""] if service.opponent.voice is not None else []) + list(DIFFICULTIES)
        return render_template("index.html", base=_base(), opponent=service.opponent.name, levels=levels)

    @blueprint.get("/rooms/<room_id>/view")
    def play(room_id: str):
        room = service.room(room_id)
        state = with_base(room.seen_by(None), _base())  # a seat's holder: the page asks again with its token
        urls = {name: f"/rooms/{room_id}/{name}" for name in ("events", "move", "chat", "join", "leave")}
        urls["state"] = f"/rooms/{room_id}"
        return render_template("room.html", mode="play", state=state, urls=urls, two_people=room.two_people)

    @blueprint.get("/watch/<watch_id>")
    def watch(watch_id: str):
        room = service.watched(watch_id)
        state = with_base(spectator_view(room.seen_by(None)), _base())
        urls = {name: f"/watch/{watch_id}/{name}" for name in ("events", "move")}
        return render_template("room.html", mode="watch", state=state, urls=urls, two_people=room.two_people)

    @blueprint.get("/rooms/<room_id>/events")
    def play_events(room_id: str):
        room, token = service.room(room_id), request.args.get("player_token")
        room.seen_by(token)  # a wrong token is refused now, not in the stream
        return streams.open(room, lambda: room.seen_by(token))

    @blueprint.get("/watch/<watch_id>/events")
    def watch_events(watch_id: str):
        room = service.watched(watch_id)
        return streams.open(room, lambda: spectator_view(room.seen_by(None)))

    @blueprint.post("/watch/<watch_id>/move")
    def spectator_move(watch_id: str):
        service.watched(watch_id)  # an unknown link is a 404, as anywhere else
        raise WatchOnly("You are watching this game: only its player can move. Start your own from the home page.")

    return blueprint


def _base() -> str:
    """This server's URL as the request reached it (https behind a trusted proxy that says so)."""
    return request.host_url.rstrip("/")


class Streams:
    """The live pages' event streams: at most EVENT_STREAMS at once, each ended on schedule or when the server stops.

    WSGI cannot tell when a browser goes away, so a stream only learns it when it ends: hence the short life.
    """

    def __init__(self) -> None:
        self._slots = threading.BoundedSemaphore(EVENT_STREAMS)
        self._closing = threading.Event()

    def open(self, room: Room, view: Callable[[], dict]) -> Response:
        """The room's state (as `view` shows it) now and after every change, as server-sent events."""
        if not self._slots.acquire(blocking=False):
            raise TooManyViewers("Too many live pages are open on this server right now.", 5)
        response = Response(self._changes(room, view), mimetype="text/event-stream")
        response.call_on_close(self._slots.release)  # when the server closes the stream, started or not
        response.headers["Cache-Control"] = "no-store"
        response.headers["X-Accel-Buffering"] = "no"  # proxies must pass each event on at once
        return response

    def close(self) -> None:
        """End every stream within a second: the server is stopping."""
        self._closing.set()

    def _changes(self, room: Room, view: Callable[[], dict]) -> Iterator[str]:
        yield f"retry: {RETRY_MS}\n\n"
        start = quiet_since = time.monotonic()
        version = None
        while not self._closing.is_set() and time.monotonic() - start < STREAM_SECONDS:
            if version != room.version:
                state = view()
                version = state["version"]
                yield f"data: {json.dumps(state, ensure_ascii=False)}\n\n"
                quiet_since = time.monotonic()
            elif not room.wait_for_change(version, WAIT_SECONDS) and time.monotonic() - quiet_since > HEARTBEAT_SECONDS:
                yield ": still here\n\n"
                quiet_since = time.monotonic()
