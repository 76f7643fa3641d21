"""The REST API: thin routes over the game service, JSON in (read and typed as the MCP tools' arguments are) and
out (the typed answers, with the Markdown a chat shows), every error a JSON 4xx."""

from __future__ import annotations

from flask import jsonify, request

from tictactoe.doors import jsonin
from tictactoe.doors.arguments import Chat, Join, Leave, Move, NewRoom, StatsQuery, checked
from tictactoe.doors.markdown import history_markdown, room_markdown, stats_markdown, with_base
from tictactoe.doors.routes import Api, Operation, Routes
from tictactoe.game.errors import InvalidRequest
from tictactoe.services.games import LOCAL, check_difficulty
from tictactoe.services.people import valid_name
from tictactoe.state.answers import Health, History, RoomState, Seated, Stats, Turn
from tictactoe.state.seats import ANONYMOUS, Player, token_key

REST = Routes()
PLAYS = ("getRoom", "move", "chat")  # what a new room's id leads to
NOT_AN_OBJECT = "The body must be a JSON object, with Content-Type: application/json."


@REST.add("GET", "/health", Operation("health", "Liveness.", Health, "Up."))
def health(api: Api):
    return jsonify(status="ok", rooms=len(api.service.rooms), opponent=api.service.opponent.name)


@REST.add("GET", "/openapi.json", Operation("openapi", "This document.", description="OpenAPI 3.1."))
def openapi(api: Api):
    from tictactoe.doors.openapi import openapi_document  # it documents this module: imported once both exist

    return jsonify(openapi_document())


NEW_ROOM = Operation(
    "createRoom",
    "Start a game.",
    Seated | RoomState,
    "The new room: against the opponent, you are X and move first; a room for two, from your seat.",
    status=201,
    errors=(400,),
    body=NewRoom,
    body_required=False,
    answer_headers={"Location": "/rooms/{room_id}: where the room is."},
    links=PLAYS,
)


@REST.add("POST", "/rooms", NEW_ROOM)
def create_room(api: Api):
    body = read(NewRoom, optional=True)
    name = body.get("name", "")
    if body.get("opponent", "ai") == "human":
        check_difficulty(body.get("difficulty"))  # refused if wrong, though a room for two has no engine
        seated = api.service.people.open_room(name, _client())
        room, state = seated.room, seated.to_dict()
    else:
        player = Player(name=valid_name(name))
        room = api.service.create_room(body.get("difficulty"), client=_client(), player=player)
        state = room.to_dict()
    response, status = reply(state, 201)
    response.headers["Location"] = f"/rooms/{room.id}"
    return response, status


@REST.add(
    "GET", "/rooms/{room_id}", Operation("getRoom", "The room.", RoomState, errors=(404,), headers=("PlayerToken",))
)
def get_room(api: Api, room_id: str):
    return reply(api.service.room(room_id).seen_by(request.headers.get("X-Player-Token")))


HISTORY = Operation(
    "getHistory",
    "The game from its first move: who made each, where from and when, and the chat.",
    History,
    errors=(404,),
    headers=("PlayerToken",),
)


@REST.add("GET", "/rooms/{room_id}/history", HISTORY)
def history(api: Api, room_id: str):
    room = api.service.room(room_id)
    history = with_base(room.history(room.mark_of(request.headers.get("X-Player-Token"))), public_base())
    return jsonify({**history, "markdown": history_markdown(history)})


STATS = Operation(
    "getStats", "The leaderboard; a name's record; your seat's.", Stats, errors=(400,), query=StatsQuery,
    headers=("PlayerToken",),
)  # fmt: skip


@REST.add("GET", "/stats", STATS)
def stats(api: Api):
    limit, name = request.args.get("limit", "10"), request.args.get("name", "")
    token = request.headers.get("X-Player-Token")
    whole = limit.isdecimal() and len(limit) <= 6  # longer is out of range anyway, and slow to convert
    found = api.service.stats(int(limit) if whole else limit, name, token_key(token) if token else ANONYMOUS)
    return jsonify({**found, "markdown": stats_markdown(found)})


JOIN = Operation(
    "join", "Take the free seat in a room for two people.", Seated, "The room from your seat, with your player_token.",
    errors=(400, 404, 409), body=Join, body_required=False,
)  # fmt: skip


@REST.add("POST", "/rooms/{room_id}/join", JOIN)
def join(api: Api, room_id: str):
    body = read(Join, optional=True)
    return reply(api.service.people.join(room_id, body.get("name", "")).to_dict())


LEAVE = Operation(
    "leave", "Leave a room for two people: an unfinished game is yours lost, by forfeit.", RoomState,
    "The room from your seat.", errors=(400, 403, 404, 409), body=Leave,
)  # fmt: skip


@REST.add("POST", "/rooms/{room_id}/leave", LEAVE)
def leave(api: Api, room_id: str):
    seated = api.service.people.leave(room_id, read(Leave)["player_token"])
    return reply(seated.room.to_dict(seated.seat.mark))


MOVE = Operation(
    "move", "Play your mark; against the opponent, it answers in the same call.", Turn,
    "The room after your move and the opponent's reply.", errors=(400, 403, 404, 409), body=Move, headers=("Client",),
)  # fmt: skip


@REST.add("POST", "/rooms/{room_id}/move", MOVE)
def move(api: Api, room_id: str):
    body = read(Move)
    turn = api.service.play(
        room_id,
        body["position"],
        client=_client(),
        expected_version=body.get("expected_version"),
        token=body.get("player_token"),
        via=_via(),
    )
    return reply(api.run(turn).to_dict())


CHAT = Operation(
    "chat", "Talk to the opponent, who answers in character. Chat never changes the board.", RoomState,
    "The room, the exchange at the end of `chat`.", errors=(400, 403, 404), body=Chat, headers=("Client",),
)  # fmt: skip


@REST.add("POST", "/rooms/{room_id}/chat", CHAT)
def chat(api: Api, room_id: str):
    body = read(Chat)
    said = api.service.chat(room_id, body["message"], client=_client(), token=body.get("player_token"), via=_via())
    return reply(api.run(said).to_dict())


def reply(state: dict, status: int = 200):
    """A room as REST answers it: links absolute on the URL the request reached, and the Markdown a chat shows."""
    state = with_base(state, public_base())
    return jsonify({**state, "markdown": room_markdown(state)}), status


def public_base() -> str:
    """This server's URL as the request reached it (https behind a trusted proxy that says so): the Host the gate
    let in, as sent (Werkzeug's `host_url` would also decode it to an IRI, a sixteenth of a move's CPU)."""
    return f"{request.scheme}://{request.host}"


def read(kind: type, optional: bool = False) -> dict:
    """The request's JSON object, read strictly (jsonin) and typed as `kind`; an absent body is {} when `optional`.
    Anything else is a 400 that says what is wrong with it, in the words MCP uses for the same mistake."""
    data = request.get_data()
    if optional and not data:
        return {}
    try:
        body = jsonin.parse(data) if data else None
    except jsonin.JsonRefused as refused:
        raise InvalidRequest(refused.message) from None
    if not isinstance(body, dict):
        raise InvalidRequest(NOT_AN_OBJECT)
    return checked(kind, body)


def _client() -> str:
    """Who is calling, for the rate limits: the address the gate resolved (through any trusted proxies)."""
    return request.remote_addr or LOCAL


def _via() -> str:
    """Where a move or message came from: this server's pages say so (X-Client: page); anything else is REST."""
    return "page" if request.headers.get("X-Client") == "page" else "rest"
