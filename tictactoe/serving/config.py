"""Settings, read once from the environment (and .env, loaded by the entry points), with working defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from tictactoe.game.engine import DIFFICULTIES

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")
RATE_LIMITS = {"create": 20, "move": 120, "chat": 30, "session": 30}


class ConfigError(ValueError):
    """A setting has a value the server cannot use; the message names it."""


@dataclass(frozen=True)
class Settings:
    host: str = "0.0.0.0"
    port: int = 7860
    mistral_api_key: str | None = field(default=None, repr=False)  # a secret: never shown
    mistral_model: str = "mistral-small-latest"
    mistral_server_url: str | None = None
    mistral_timeout: float = 10.0
    default_difficulty: str = "medium"
    log_level: str = "info"
    room_ttl_minutes: float = 60.0
    max_rooms: int = 10_000
    rate_limits: dict[str, int] = field(default_factory=lambda: dict(RATE_LIMITS))  # per minute per client; 0 is off
    trusted_proxies: int = 0  # proxies in front of the server whose X-Forwarded-For/-Proto are believed
    allowed_hosts: tuple[str, ...] = ()  # beside the loopback names; "*" allows any Host
    allowed_origins: tuple[str, ...] = ("https://chat.mistral.ai",)  # beside the server's own origin
    auth_token: str | None = field(default=None, repr=False)  # a secret: never shown
    rooms_db: str | None = None  # a SQLite file that keeps the rooms across restarts; None: memory only
    redis_url: str | None = field(default=None, repr=False)  # Redis for everything kept; may hold a password
    workers: int = 1  # processes serving the one port (more than one needs redis_url)
    disconnect_grace_seconds: float = 60.0  # a person whose connection closed and is not back by then has left
    # Each client's share, so that one client cannot crowd out the others (see the README's abuse section).
    max_connections_per_client: int = 256  # open TCP connections from one address (without trusted proxies)
    max_requests_per_client: int = 32  # requests in progress at once, streams aside
    max_sessions_per_client: int = 64  # open MCP sessions (SSE streams and streamable-HTTP sessions, each)
    max_sessions: int = 10_000  # open MCP sessions of each transport, for everyone together
    session_idle_minutes: float = 30.0  # an MCP session with no request for this long is closed
    max_viewers_per_client: int = 16  # live pages' event streams open at once
    max_viewers: int = 10_000  # live pages' event streams, for everyone together
    request_seconds: float = 10.0  # a request's headers, then its body, must each arrive within this long


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    """Settings from environment variables; raises ConfigError naming the first bad one."""
    defaults = Settings()
    difficulty = environ.get("DEFAULT_DIFFICULTY", defaults.default_difficulty).strip().lower()
    if difficulty not in DIFFICULTIES:
        raise ConfigError(f"DEFAULT_DIFFICULTY must be one of {', '.join(DIFFICULTIES)}, got {difficulty!r}")
    log_level = environ.get("LOG_LEVEL", defaults.log_level).strip().lower()
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    settings = Settings(
        host=environ.get("HOST", defaults.host),
        port=_number(environ, "PORT", defaults.port, int, 0, 65535),
        mistral_api_key=environ.get("MISTRAL_API_KEY", "").strip() or None,
        mistral_model=environ.get("MISTRAL_MODEL", "").strip() or defaults.mistral_model,
        mistral_server_url=environ.get("MISTRAL_SERVER_URL", "").strip() or None,
        mistral_timeout=_number(environ, "MISTRAL_TIMEOUT", defaults.mistral_timeout, float, 0.1, 120),
        default_difficulty=difficulty,
        log_level=log_level,
        room_ttl_minutes=_number(environ, "ROOM_TTL_MINUTES", defaults.room_ttl_minutes, float, 5, 7 * 24 * 60),
        max_rooms=_number(environ, "MAX_ROOMS", defaults.max_rooms, int, 1, 1_000_000),
        rate_limits={
            action: _number(environ, f"RATE_LIMIT_{action.upper()}", default, int, 0, 100_000)
            for action, default in RATE_LIMITS.items()
        },
        trusted_proxies=_number(environ, "TRUSTED_PROXIES", defaults.trusted_proxies, int, 0, 10),
        allowed_hosts=(*_names(environ.get("ALLOWED_HOSTS", "")), *_names(environ.get("SPACE_HOST", ""))),
        allowed_origins=_names(environ.get("ALLOWED_ORIGINS", ",".join(defaults.allowed_origins))),
        auth_token=environ.get("MCP_AUTH_TOKEN", "").strip() or None,
        rooms_db=environ.get("ROOMS_DB", "").strip() or None,
        redis_url=_redis_url(environ),
        workers=_number(environ, "WORKERS", defaults.workers, int, 1, 64),
        disconnect_grace_seconds=_number(
            environ, "DISCONNECT_GRACE_SECONDS", defaults.disconnect_grace_seconds, float, 1, 3600
        ),
        max_connections_per_client=_setting(environ, "MAX_CONNECTIONS_PER_CLIENT", int, 1, 100_000),
        max_requests_per_client=_setting(environ, "MAX_REQUESTS_PER_CLIENT", int, 1, 100_000),
        max_sessions_per_client=_setting(environ, "MAX_SESSIONS_PER_CLIENT", int, 1, 100_000),
        max_sessions=_setting(environ, "MAX_SESSIONS", int, 1, 1_000_000),
        session_idle_minutes=_setting(environ, "SESSION_IDLE_MINUTES", float, 0.05, 24 * 60),
        max_viewers_per_client=_setting(environ, "MAX_VIEWERS_PER_CLIENT", int, 1, 100_000),
        max_viewers=_setting(environ, "MAX_VIEWERS", int, 1, 1_000_000),
        request_seconds=_setting(environ, "REQUEST_SECONDS", float, 0.5, 300),
    )
    if settings.workers > 1 and not settings.redis_url:
        raise ConfigError("WORKERS above 1 needs REDIS_URL: each process would otherwise keep rooms of its own")
    return settings


def _redis_url(environ: Mapping[str, str]) -> str | None:
    """REDIS_URL, if set: a redis:// or rediss:// URL, and not beside ROOMS_DB (the rooms live in one place)."""
    url = environ.get("REDIS_URL", "").strip() or None
    if url is not None and not url.startswith(("redis://", "rediss://")):
        raise ConfigError("REDIS_URL must start with redis:// or rediss://")  # not echoed: it may hold a password
    if url is not None and environ.get("ROOMS_DB", "").strip():
        raise ConfigError("Set REDIS_URL or ROOMS_DB, not both: the rooms live in one place")
    return url


def _setting(environ: Mapping[str, str], name: str, kind, low, high):
    """The setting NAME (the field name in lower case), from the environment or its default."""
    return _number(environ, name, getattr(Settings(), name.lower()), kind, low, high)


def _names(raw: str) -> tuple[str, ...]:
    """A comma-separated list, trimmed and lowercased, without empty items or trailing slashes."""
    return tuple(item.strip().lower().rstrip("/") for item in raw.split(",") if item.strip())


def _number(environ: Mapping[str, str], name: str, default, kind, low, high):
    raw = environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {raw!r}")
    return value
