"""Errors a player can cause. Each carries a short code; the adapters map them to a status once."""


class GameError(Exception):
    """A request the game refuses; `code` is stable, the message says what to do instead."""

    code = "game_error"

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message
        self.room: dict | None = None  # the room's state when the error happened, where there is one


class InvalidRequest(GameError):
    """A value is wrong: not JSON, not text, too long, not one of the choices; the message names it."""

    code = "invalid_request"


class InvalidPosition(GameError):
    """position is missing, not a whole number, or outside 0-8."""

    code = "invalid_position"


class CellOccupied(GameError):
    """The cell is taken: play one of the legal moves."""

    code = "cell_occupied"


class GameOver(GameError):
    """The game is over (won, drawn, forfeited or closed): start a new one."""

    code = "game_over"


class NotYourTurn(GameError):
    """It is the other side's turn (the opponent is thinking, or a person has not moved)."""

    code = "not_your_turn"


class RoomNotFound(GameError):
    """No room with that id: it never existed, or it expired."""

    code = "room_not_found"


class RoomRequired(GameError):
    """The call names no room, and the connection has no current one."""

    code = "room_id_required"


class StaleVersion(GameError):
    """The board changed since the version the move was chosen on."""

    code = "stale_version"


class Busy(GameError):
    """Refused for now, not for good: the caller may try again after `retry_after` seconds."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(f"{message} Try again in {retry_after} s.")
        self.retry_after = retry_after


class RateLimited(Busy):
    """Too many requests of this kind from one client in a minute."""

    code = "rate_limited"


class TooManyRooms(Busy):
    """The server holds as many rooms as it may."""

    code = "too_many_rooms"


class TooManyViewers(Busy):
    """As many live pages are open as the client (or the server) may have."""

    code = "too_many_viewers"


class WatchOnly(GameError):
    """A spectator's link cannot move."""

    code = "watch_only"


class RoomFull(GameError):
    """No seat to take: both are taken, the room is a game against the opponent, or it is closed."""

    code = "room_full"


class NoSeats(GameError):
    """A game against the opponent has no seats: there is none to leave."""

    code = "no_seats"


class SeatRequired(GameError):
    """In a room for two, no seat of its holder's matches the player_token given (or none was)."""

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


class Overtaken(StoreUnavailable):
    """A change was decided on a copy of the room that another process's change had moved past: nothing changed, and
    the change is made again on the room as the store has it (Room.attempts). Reaches a client only if that fails
    too."""
