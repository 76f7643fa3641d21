"""The pages: the landing page and the live board, fed by server-sent events from the rooms themselves.

A room's page comes in two kinds: the player's (`/rooms/<id>/view`, it can move and chat) and the spectators'
(`/watch/<watch_id>`, it shows the same game, live, without the id that lets one play).
"""

from __future__ import annotations

from flask import Blueprint, render_template, request

from tictactoe.doors.markdown import with_base
from tictactoe.game.engine import DIFFICULTIES
from tictactoe.game.errors import WatchOnly
from tictactoe.services.games import GameService
from tictactoe.state.showing import spectator_view


def pages(service: GameService) -> Blueprint:
    """The landing page and the room pages, over `service` (their event streams: live.py, beside this)."""
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

    @blueprint.post("/watch/<watch_id>/move")
    def spectator_move(watch_id: str):
        service.watched(watch_id)  # an unknown link is a 404, as anywhere else
        raise WatchOnly("You are watching this game: only its player can move. Start your own from the home page.")

    return blueprint


def _base() -> str:
    """This server's URL as the request reached it (https behind a trusted proxy that says so)."""
    return request.host_url.rstrip("/")
