"""The server's parts, put together as the settings say: the one place that knows them all."""

from __future__ import annotations

from tictactoe.players.mistral import MistralVoice
from tictactoe.players.opponent import Opponent
from tictactoe.services.games import GameService
from tictactoe.services.limits import RateLimiter
from tictactoe.serving.config import ConfigError, Settings
from tictactoe.state.database import UnusableDatabase
from tictactoe.state.sqlite_store import SqliteRoomStore
from tictactoe.state.store import RoomStore


def build_service(settings: Settings) -> GameService:
    """The service as configured: Mistral in front of the engine when there is a key; rooms in memory, or in
    ROOMS_DB (a file it cannot use is a ConfigError naming it)."""
    voice = None
    if settings.mistral_api_key:
        voice = MistralVoice(
            settings.mistral_api_key, settings.mistral_model, settings.mistral_server_url, settings.mistral_timeout
        )
    ttl, cap = settings.room_ttl_minutes * 60, settings.max_rooms
    try:
        store = SqliteRoomStore(settings.rooms_db, ttl, cap) if settings.rooms_db else RoomStore(ttl, cap)
    except UnusableDatabase as error:
        raise ConfigError(str(error)) from None
    return GameService(
        Opponent(voice),
        settings.default_difficulty,
        store,
        RateLimiter(settings.rate_limits),
        settings.disconnect_grace_seconds,
    )
