"""The pages: the landing page and the live board, fed by server-sent events from the rooms themselves (live.py).

A room's page comes in two kinds: the player's (`/rooms/<id>/view`, it can move and chat) and the spectators'
(`/watch/<watch_id>`, it shows the same game, live, without the id that lets one play).
"""

from __future__ import annotations

from flask import render_template

from tictactoe.doors.markdown import with_base
from tictactoe.doors.pages.live import PLAY_EVENTS, WATCH_EVENTS
from tictactoe.doors.rest import public_base
from tictactoe.doors.routes import Api, Operation, Routes
from tictactoe.game.engine import DIFFICULTIES
from tictactoe.game.errors import WatchOnly
from tictactoe.state.showing import spectator_view

HOME, PAGES = Routes(), Routes()  # the home page; the room pages, each followed by its live stream
HTML = "text/html"


@HOME.add("GET", "/", Operation("index", "How to connect.", description="The page.", media_type=HTML))
def index(api: Api):
    levels = ([""] if api.service.opponent.voice is not None else []) + list(DIFFICULTIES)
    return render_template("index.html", base=public_base(), opponent=api.service.opponent.name, levels=levels)


PLAY = Operation(
    "playPage", "The player's live board.", description="HTML: the board, the moves and the chat, kept live.",
    media_type=HTML, errors=(404,),
)  # fmt: skip


@PAGES.add("GET", "/rooms/{room_id}/view", PLAY)
def play(api: Api, room_id: str):
    room = api.service.room(room_id)
    state = with_base(room.seen_by(None), public_base())  # a seat's holder: the page asks again with its token
    urls = {name: f"/rooms/{room_id}/{name}" for name in ("events", "move", "chat", "join", "leave")}
    urls["state"] = f"/rooms/{room_id}"
    return render_template("room.html", mode="play", state=state, urls=urls, two_people=room.two_people)


PAGES.document("GET", "/rooms/{room_id}/events", PLAY_EVENTS)
WATCH = Operation(
    "watchPage", "A spectator's live board.", description="HTML: the same board, without the right to play.",
    media_type=HTML, errors=(404,),
)  # fmt: skip


@PAGES.add("GET", "/watch/{watch_id}", WATCH)
def watch(api: Api, watch_id: str):
    room = api.service.watched(watch_id)
    state = with_base(spectator_view(room.seen_by(None)), public_base())
    urls = {name: f"/watch/{watch_id}/{name}" for name in ("events", "move")}
    return render_template("room.html", mode="watch", state=state, urls=urls, two_people=room.two_people)


PAGES.document("GET", "/watch/{watch_id}/events", WATCH_EVENTS)


@PAGES.add("POST", "/watch/{watch_id}/move", Operation("watchMove", "Refused: spectators cannot move.", errors=(404,)))
def spectator_move(api: Api, watch_id: str):
    api.service.watched(watch_id)  # an unknown link is a 404, as anywhere else
    raise WatchOnly("You are watching this game: only its player can move. Start your own from the home page.")
