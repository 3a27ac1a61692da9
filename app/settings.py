"""Settings read from the environment, one dataclass per concern.

Every variable is prefixed ``COMPUTEHUB_``. ``get_settings()`` is cached; tests
call ``get_settings.cache_clear()`` after changing the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str = "") -> str:
    return os.environ.get(f"COMPUTEHUB_{name}", default)


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name, "")
    if not raw:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_int(name: str, default: int) -> int:
    raw = _env(name, "")
    return int(raw) if raw else default


def default_database_url() -> str:
    var = Path(_env("VAR_DIR", str(PROJECT_ROOT / "var")))
    return f"sqlite+aiosqlite:///{var / 'computehub.sqlite3'}"


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = field(default_factory=lambda: _env("DATABASE_URL") or default_database_url())
    """SQLAlchemy async URL. SQLite (aiosqlite) by default, PostgreSQL (psycopg) in production."""
    echo: bool = field(default_factory=lambda: _env_bool("DATABASE_ECHO", False))


@dataclass(frozen=True)
class PollingSettings:
    enabled: bool = field(default_factory=lambda: _env_bool("POLLING", True))
    """Poll live sources on a schedule. ``make run`` keeps it on; failures only mark sources stale."""
    default_interval_seconds: int = field(default_factory=lambda: _env_int("POLL_INTERVAL", 900))
    timeout_seconds: float = field(default_factory=lambda: float(_env("HTTP_TIMEOUT", "20")))
    load_snapshot: bool = field(default_factory=lambda: _env_bool("LOAD_SNAPSHOT", True))
    """Load the bundled price snapshot at first start, so the pages have prices with no network."""


@dataclass(frozen=True)
class ProviderKeys:
    """Operator keys for price sources that need one. A missing key means "not configured"."""

    lambdalabs: str = field(default_factory=lambda: _env("LAMBDA_API_KEY"))
    runpod: str = field(default_factory=lambda: _env("RUNPOD_API_KEY"))
    vastai: str = field(default_factory=lambda: _env("VASTAI_API_KEY"))
    verda_client_id: str = field(default_factory=lambda: _env("VERDA_CLIENT_ID"))
    verda_client_secret: str = field(default_factory=lambda: _env("VERDA_CLIENT_SECRET"))
    hyperstack: str = field(default_factory=lambda: _env("HYPERSTACK_API_KEY"))
    tensordock: str = field(default_factory=lambda: _env("TENSORDOCK_API_TOKEN"))
    digitalocean: str = field(default_factory=lambda: _env("DIGITALOCEAN_TOKEN"))
    cudo: str = field(default_factory=lambda: _env("CUDO_API_KEY"))
    fluidstack: str = field(default_factory=lambda: _env("FLUIDSTACK_API_KEY"))

    def get(self, name: str) -> str:
        return getattr(self, name, "") or ""


@dataclass(frozen=True)
class WebSettings:
    host: str = field(default_factory=lambda: _env("HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: _env_int("PORT", 8000))
    base_url: str = field(default_factory=lambda: _env("BASE_URL", "http://127.0.0.1:8000"))
    debug: bool = field(default_factory=lambda: _env_bool("DEBUG", False))


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    polling: PollingSettings = field(default_factory=PollingSettings)
    provider_keys: ProviderKeys = field(default_factory=ProviderKeys)
    web: WebSettings = field(default_factory=WebSettings)
    embedded_worker: bool = field(default_factory=lambda: _env_bool("EMBEDDED_WORKER", False))
    """Run the scheduler inside the web process (``make run``); production runs ``computehub worker``."""


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
