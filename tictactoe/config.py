"""Settings, read once from the environment (and .env, loaded by the entry points), with working defaults."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from tictactoe.engine import DIFFICULTIES

LOG_LEVELS = ("debug", "info", "warning", "error", "critical")


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


def load_settings(environ: Mapping[str, str] = os.environ) -> Settings:
    """Settings from environment variables; raises ConfigError naming the first bad one."""
    defaults = Settings()
    difficulty = environ.get("DEFAULT_DIFFICULTY", defaults.default_difficulty).strip().lower()
    if difficulty not in DIFFICULTIES:
        raise ConfigError(f"DEFAULT_DIFFICULTY must be one of {', '.join(DIFFICULTIES)}, got {difficulty!r}")
    log_level = environ.get("LOG_LEVEL", defaults.log_level).strip().lower()
    if log_level not in LOG_LEVELS:
        raise ConfigError(f"LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")
    return Settings(
        host=environ.get("HOST", defaults.host),
        port=_number(environ, "PORT", defaults.port, int, 0, 65535),
        mistral_api_key=environ.get("MISTRAL_API_KEY", "").strip() or None,
        mistral_model=environ.get("MISTRAL_MODEL", "").strip() or defaults.mistral_model,
        mistral_server_url=environ.get("MISTRAL_SERVER_URL", "").strip() or None,
        mistral_timeout=_number(environ, "MISTRAL_TIMEOUT", defaults.mistral_timeout, float, 0.1, 120),
        default_difficulty=difficulty,
        log_level=log_level,
    )


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
