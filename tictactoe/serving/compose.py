"""The server's parts, put together as the settings say: the one place that knows them all."""

from __future__ import annotations

from limits.storage import RedisStorage

from tictactoe.players.mistral import MistralVoice
from tictactoe.players.opponent import Opponent
from tictactoe.services.games import GameService
from tictactoe.services.limits import RateLimiter
from tictactoe.serving.config import ConfigError, Settings
from tictactoe.state.database import UnusableDatabase
from tictactoe.state.redis_store import RedisRoomStore
from tictactoe.state.sqlite_store import SqliteRoomStore
from tictactoe.state.store import RoomStore

THINKING_MARGIN = 5.0  # seconds past the model's own timeout before a turn left thinking is taken for abandoned


def build_service(settings: Settings) -> GameService:
    """The service as configured: Mistral in front of the engine when there is a key; rooms in memory, in ROOMS_DB
    (a file it cannot use is a ConfigError naming it), or in Redis (REDIS_URL) with the rate limits."""
    voice = None
    if settings.mistral_api_key:
        voice = MistralVoice(
            settings.mistral_api_key, settings.mistral_model, settings.mistral_server_url, settings.mistral_timeout
        )
    store = build_store(settings)
    return GameService(
        Opponent(voice),
        settings.default_difficulty,
        store,
        RateLimiter(settings.rate_limits, rate_storage(store)),
        settings.disconnect_grace_seconds,
    )


def build_store(settings: Settings) -> RoomStore | RedisRoomStore:
    """The rooms' store the settings name: Redis, an SQLite file, or this process's memory."""
    ttl, cap = settings.room_ttl_minutes * 60, settings.max_rooms
    if settings.redis_url:
        return RedisRoomStore(settings.redis_url, ttl, cap, settings.mistral_timeout + THINKING_MARGIN)
    try:
        return SqliteRoomStore(settings.rooms_db, ttl, cap) if settings.rooms_db else RoomStore(ttl, cap)
    except UnusableDatabase as error:
        raise ConfigError(str(error)) from None


def rate_storage(store: RoomStore | RedisRoomStore) -> RedisStorage | None:
    """Where the rate limits count: beside the rooms in Redis, shared by every process; else (None) this process's
    memory."""
    if isinstance(store, RedisRoomStore):
        link = store.link
        return RedisStorage("redis://", link.pool, key_prefix=f"{link.prefix}limits", wrap_exceptions=True)
    return None
