"""Errors a player can cause. Each carries a short code; the adapters map them to a status once."""


class GameError(Exception):
    """A request the game refuses; `code` is stable, the message says what to do instead."""

    code = "game_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
        self.room: dict | None = None  # the room's state when the error happened, where there is one


class InvalidRequest(GameError):
    code = "invalid_request"


class InvalidPosition(GameError):
    code = "invalid_position"


class CellOccupied(GameError):
    code = "cell_occupied"


class GameOver(GameError):
    code = "game_over"


class NotYourTurn(GameError):
    code = "not_your_turn"


class RoomNotFound(GameError):
    code = "room_not_found"


class RoomRequired(GameError):
    code = "room_id_required"


class StaleVersion(GameError):
    code = "stale_version"


class Busy(GameError):
    """Refused for now, not for good: the caller may try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(f"{message} Try again in {retry_after} s.")
        self.retry_after = retry_after


class RateLimited(Busy):
    code = "rate_limited"


class TooManyRooms(Busy):
    code = "too_many_rooms"


class TooManyViewers(Busy):
    code = "too_many_viewers"


class WatchOnly(GameError):
    code = "watch_only"


class RoomFull(GameError):
    code = "room_full"


class SeatRequired(GameError):
    code = "seat_required"


class StoreUnavailable(Busy):
    """The database could not keep a change (disk full, locked, failing): nothing changed, and a retry may work."""

    code = "store_unavailable"

    def __init__(
        self,
        message: str = "The server could not save the game just now, so nothing changed: look at the room again "
        "before you retry.",
        retry_after: int = 5,
    ):
        super().__init__(message, retry_after)
