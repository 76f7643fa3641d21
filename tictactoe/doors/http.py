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
    SeatRequired: 403,
    StaleVersion: 409,
    RateLimited: 429,
    TooManyRooms: 429,
    WatchOnly: 403,
    TooManyViewers: 503,
    StoreUnavailable: 503,
}


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
