"""What every HTTP door shares: the status each game error answers with, its JSON body, and who is calling."""

from __future__ import annotations

from typing import Any

from starlette.types import Scope

from tictactoe.game.errors import (
    Busy,
    CellOccupied,
    GameError,
    GameOver,
    InvalidPosition,
    InvalidRequest,
    NoSeats,
    NotYourTurn,
    RateLimited,
    RoomFull,
    RoomNotFound,
    RoomRequired,
    SeatRequired,
    StaleVersion,
    StoreUnavailable,
    TooManyRooms,
    TooManyViewers,
    WatchOnly,
)

STATUS = {
    InvalidRequest: 400,
    InvalidPosition: 400,
    RoomRequired: 400,
    RoomNotFound: 404,
    CellOccupied: 409,
    GameOver: 409,
    NotYourTurn: 409,
    RoomFull: 409,
    NoSeats: 409,
    SeatRequired: 403,
    StaleVersion: 409,
    RateLimited: 429,
    TooManyRooms: 429,
    WatchOnly: 403,
    TooManyViewers: 503,
    StoreUnavailable: 503,
}


# What is refused in front of every route, before any door sees the request (the serving layer's gate and
# bounds), by status: documented beside the game's own errors.
EDGE = {
    400: {"bad_request": "The request is not valid HTTP/1.1."},
    401: {"unauthorized": "The server sets MCP_AUTH_TOKEN, and this write came without it (Authorization: Bearer)."},
    403: {"origin_not_allowed": "A web page on another site (its Origin header) made the call."},
    404: {"not_found": "No such path."},
    405: {"method_not_allowed": "The path does not take that method; Allow says which it takes."},
    408: {"request_timeout": "The headers, or the body, did not arrive in time (REQUEST_SECONDS)."},
    413: {"request_entity_too_large": "The body is over 16 KiB (over 64 KiB on any route), chunked or not."},
    421: {"host_not_allowed": "The Host header names a host this server does not answer for."},
    429: {
        "too_many_requests": "More of your requests are under way at once than one client may have.",
        "too_many_connections": "More connections are open from your address than one may have.",
    },
    503: {"server_busy": "The server holds all the connections its open-files limit allows."},
}


def meanings(status: int) -> dict[str, str]:
    """Every code answered with `status`, the game's and the edge's, with what it means."""
    game = {error.code: (error.__doc__ or "").strip() for error, answered in STATUS.items() if answered == status}
    return {**game, **EDGE.get(status, {})}


def refusal(error: GameError) -> tuple[dict[str, Any], int, dict[str, str]]:
    """A game error as every HTTP route answers it: the JSON body (with the room where there is one), the status
    and the headers."""
    body: dict[str, Any] = {"error": {"code": error.code, "message": error.message}}
    headers = {}
    if isinstance(error, Busy):
        body["error"]["retry_after"] = error.retry_after
        headers["Retry-After"] = str(error.retry_after)
    if error.room is not None:
        body["room"] = error.room
    return body, STATUS[type(error)], headers


def client_of(scope: Scope) -> str:
    """Who is calling, for the per-client limits: the address the gate resolved (through any trusted proxies)."""
    client = scope.get("client")
    return client[0] if client else "local"
