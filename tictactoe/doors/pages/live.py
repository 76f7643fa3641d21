"""The live pages' event streams, served on the event loop: a viewer costs a coroutine, not a thread.

A room's stream comes in two kinds, as its pages do: the player's (`/rooms/<id>/events`, the room as their seat
sees it) and the spectators' (`/watch/<watch_id>/events`, without the id that lets one play). Each client may
hold a few streams open, everyone together many; a stream that closes frees its place at once.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Callable

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from tictactoe.doors.http import client_of, refusal
from tictactoe.doors.routes import Operation
from tictactoe.game.errors import GameError, TooManyViewers
from tictactoe.services.games import GameService
from tictactoe.state.room import Room
from tictactoe.state.showing import spectator_view

STREAM = "Server-sent events, one `data:` line per change, each the room as JSON; a comment when quiet."
PLAY_EVENTS = Operation(
    "playEvents", "The room, live.", description=STREAM, media_type="text/event-stream", errors=(403, 404)
)
WATCH_EVENTS = Operation(
    "watchEvents", "The room as spectators see it (no room_id), live.", description=STREAM,
    media_type="text/event-stream", errors=(404,),
)  # fmt: skip
HEARTBEAT_SECONDS = 15  # a comment line this often keeps proxies from closing a quiet stream
RETRY_MS = 1000  # how soon the browser reconnects after a stream ends


class Viewers:
    """The event streams of `service`'s rooms: at most `per_client` open per client, `total` for everyone."""

    def __init__(self, service: GameService, per_client: int, total: int):
        self.service = service
        self.per_client = per_client
        self.total = total
        self._open: Counter[str] = Counter()
        self._shown = Shown()

    def routes(self) -> list[Route]:
        return [
            Route("/rooms/{room_id}/events", self.player, methods=["GET"]),
            Route("/watch/{watch_id}/events", self.spectator, methods=["GET"]),
        ]

    async def player(self, request: Request) -> Response:
        """The room as the holder of `player_token` (a seat's token; none for a game against the opponent) sees it."""
        token = request.query_params.get("player_token")
        try:
            room = self.service.room(request.path_params["room_id"])
            mark = room.mark_of(token)  # a wrong token is refused now, not in the stream
        except GameError as error:
            return error_response(error)
        return self._stream(request, room, ("play", mark), lambda: room.to_dict(mark))  # as room.seen_by(token)

    async def spectator(self, request: Request) -> Response:
        try:
            room = self.service.watched(request.path_params["watch_id"])
        except GameError as error:
            return error_response(error)
        return self._stream(request, room, ("watch",), lambda: spectator_view(room.seen_by(None)))

    def open_streams(self) -> int:
        return self._open.total()

    def _stream(self, request: Request, room: Room, kind: tuple, view: Callable[[], dict]) -> Response:
        client = client_of(request.scope)
        if self._open[client] >= self.per_client:
            return error_response(TooManyViewers("You have too many live pages open on this server.", 5))
        if self._open.total() >= self.total:
            return error_response(TooManyViewers("Too many live pages are open on this server right now.", 5))
        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}  # proxies pass each event on at once
        events = self._shown.changes(room, (room.id, *kind), view)
        response = StreamingResponse(events, media_type="text/event-stream", headers=headers)
        return Held(response, self._open, client)


class Held:
    """A response that holds one of its client's places while it is being sent, and frees it however it ends."""

    def __init__(self, response: Response, places: Counter[str], client: str):
        self.response = response
        self.places = places
        self.client = client
        places[client] += 1

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.response(scope, receive, send)
        finally:
            self.places[self.client] -= 1
            if not self.places[self.client]:
                del self.places[self.client]


class Shown:
    """Each room's latest event for each kind of stream (a seat's, the spectators'), made once per version and
    sent as it is to every stream of that kind: a popular room's change is rendered once, not once a viewer. An
    event is forgotten when the last stream that could send it closes."""

    def __init__(self) -> None:
        self._latest: dict[tuple, tuple[int, str]] = {}  # by (room id, kind[, mark]): the version and its event
        self._streams: Counter[tuple] = Counter()  # the streams open of each

    async def changes(self, room: Room, key: tuple, view: Callable[[], dict]) -> AsyncIterator[str]:
        """The room as `view` shows it, now and after every change, as server-sent events; a comment when quiet."""
        self._streams[key] += 1
        try:
            yield f"retry: {RETRY_MS}\n\n"
            version = None
            while True:
                if version != room.version:
                    version, event = self._event(key, room, view)
                    yield event
                elif not await room.changed_since(version, HEARTBEAT_SECONDS):
                    yield ": still here\n\n"
        finally:
            self._streams[key] -= 1
            if not self._streams[key]:
                del self._streams[key]
                self._latest.pop(key, None)

    def _event(self, key: tuple, room: Room, view: Callable[[], dict]) -> tuple[int, str]:
        latest = self._latest.get(key)
        if latest is None or latest[0] != room.version:
            state = view()
            latest = self._latest[key] = (state["version"], f"data: {json.dumps(state, ensure_ascii=False)}\n\n")
        return latest


def error_response(error: GameError) -> JSONResponse:
    """A game error as the REST API answers it."""
    body, status, headers = refusal(error)
    return JSONResponse(body, status, headers=headers)
