"""Settings read from the environment, one dataclass per concern.

Every variable is prefixed ``COMPUTEHUB_``. ``get_settings()`` is cached; tests
call ``get_settings.cache_clear()`` after changing the environment.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


def _env(name: str, default: str = "") -> str:
    return os.environ.get(f"COMPUTEHUB_{name}", default)


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name, "")
    if not raw:
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


def _env_optional_bool(name: str) -> bool | None:
    """None when the variable is unset: the setting is then derived from another one."""
    raw = _env(name, "").strip()
    return None if not raw else raw.lower() in {"1", "true", "yes", "on"}


def _env_list(name: str) -> tuple[str, ...]:
    return tuple(item.strip() for item in _env(name, "").split(",") if item.strip())


def _env_int(name: str, default: int) -> int:
    raw = _env(name, "")
    return int(raw) if raw else default


IPNetwork = IPv4Network | IPv6Network


def _env_networks(name: str) -> tuple[IPNetwork, ...]:
    specs = [part.strip() for part in _env(name, "").split(",") if part.strip()]
    try:
        return tuple(ip_network(spec, strict=False) for spec in specs)
    except ValueError as exc:
        raise ValueError(f"COMPUTEHUB_{name}: {exc}") from None


def default_database_url() -> str:
    var = Path(_env("VAR_DIR", str(PROJECT_ROOT / "var")))
    return f"sqlite+aiosqlite:///{var / 'computehub.sqlite3'}"


@dataclass(frozen=True)
class DatabaseSettings:
    url: str = field(default_factory=lambda: _env("DATABASE_URL") or default_database_url())
    """SQLAlchemy async URL. SQLite (aiosqlite) by default, PostgreSQL (psycopg) in production."""
    echo: bool = field(default_factory=lambda: _env_bool("DATABASE_ECHO", False))
    pool_size: int = field(default_factory=lambda: _env_int("DATABASE_POOL_SIZE", 10))
    """PostgreSQL connections each pool of a process keeps (the app's, the sandbox store's, the
    job queue's); up to as many again under load. Processes x pools x 2 must fit max_connections."""


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
    # price-only sources added for issue 16
    gcp: str = field(default_factory=lambda: _env("GCP_API_KEY"))
    shadeform: str = field(default_factory=lambda: _env("SHADEFORM_API_KEY"))
    koyeb: str = field(default_factory=lambda: _env("KOYEB_API_KEY"))  # optional: the catalog is public
    primeintellect: str = field(default_factory=lambda: _env("PRIMEINTELLECT_API_KEY"))
    latitude: str = field(default_factory=lambda: _env("LATITUDE_API_KEY"))
    hotaisle: str = field(default_factory=lambda: _env("HOTAISLE_API_KEY"))
    hotaisle_team: str = field(default_factory=lambda: _env("HOTAISLE_TEAM_HANDLE"))
    # price-only sources added for issue 16, second wave
    cloudrift: str = field(default_factory=lambda: _env("CLOUDRIFT_API_KEY"))  # optional: the list is public
    jarvislabs: str = field(default_factory=lambda: _env("JARVISLABS_API_KEY"))
    seeweb: str = field(default_factory=lambda: _env("SEEWEB_API_TOKEN"))

    def get(self, name: str) -> str:
        return getattr(self, name, "") or ""


@dataclass(frozen=True)
class WebSettings:
    host: str = field(default_factory=lambda: _env("HOST", "127.0.0.1"))
    port: int = field(default_factory=lambda: _env_int("PORT", 8000))
    base_url: str = field(default_factory=lambda: _env("BASE_URL"))
    """The public address every link we send out starts with (e-mails, Telegram, robots.txt, sitemap,
    canonical URLs). Unset: derived from ``host`` and ``port`` (see ``__post_init__``)."""
    debug: bool = field(default_factory=lambda: _env_bool("DEBUG", False))
    log_format: str = field(default_factory=lambda: _env("LOG_FORMAT", "text"))
    """text (default) | json: one JSON object a line, for log collectors in production."""
    header_timeout_seconds: float = field(default_factory=lambda: float(_env("HTTP_HEADER_TIMEOUT", "10")))
    """A client must send its whole request line and headers within this time, or is disconnected."""
    body_timeout_seconds: float = field(default_factory=lambda: float(_env("HTTP_BODY_TIMEOUT", "30")))
    """A request body must arrive within this time after the headers: 408 otherwise."""
    keepalive_timeout_seconds: float = field(default_factory=lambda: float(_env("HTTP_KEEPALIVE_TIMEOUT", "5")))
    """An idle kept-alive connection is closed after this time."""
    metrics_token: str = field(default_factory=lambda: _env("METRICS_TOKEN"))
    """/metrics answers a request with ``Authorization: Bearer <token>``."""
    metrics_allow: tuple[str, ...] = field(default_factory=lambda: _env_list("METRICS_ALLOW"))
    """Client networks (CIDRs, comma-separated) that may read /metrics without the token.
    With neither set, /metrics answers 404 to everyone."""

    def __post_init__(self) -> None:
        # One place decides the public address: an explicit COMPUTEHUB_BASE_URL wins, otherwise the
        # address the server listens on, so COMPUTEHUB_PORT=8101 alone gives links to :8101.
        if not self.base_url.strip():
            object.__setattr__(self, "base_url", listen_url(self.host, self.port))

    @property
    def is_https(self) -> bool:
        return self.base_url.strip().lower().startswith("https://")


_ANY_ADDRESS = {"", "0.0.0.0", "::", "[::]"}


def listen_url(host: str, port: int) -> str:
    """``http://host:port`` for the address the server binds; a bind-all host is reached on loopback."""
    host = host.strip()
    if host in _ANY_ADDRESS:
        host = "127.0.0.1"
    elif ":" in host and not host.startswith("["):
        host = f"[{host}]"  # an IPv6 literal
    return f"http://{host}:{port}"


def _var_dir() -> Path:
    return Path(_env("VAR_DIR", str(PROJECT_ROOT / "var")))


@dataclass(frozen=True)
class SecuritySettings:
    master_keys: str = field(default_factory=lambda: _env("MASTER_KEYS"))
    """``id:base64key[,id:base64key...]``; the first encrypts. Empty in local runs: a key is
    generated into ``var/master.key`` (never do that in production)."""
    session_secret: str = field(default_factory=lambda: _env("SESSION_SECRET"))
    session_store: str = field(default_factory=lambda: _env("SESSION_STORE", "memory"))
    """memory (one process) | database (every process on the database) | redis"""
    redis_url: str = field(default_factory=lambda: _env("REDIS_URL", "redis://127.0.0.1:6379/0"))
    session_max_age_seconds: int = field(default_factory=lambda: _env_int("SESSION_MAX_AGE", 14 * 24 * 3600))
    secure_cookies: bool | None = field(default_factory=lambda: _env_optional_bool("SECURE_COOKIES"))
    """Unset: cookies are ``Secure`` exactly when COMPUTEHUB_BASE_URL is https (see Settings.secure_cookies)."""
    login_attempts_per_window: int = field(default_factory=lambda: _env_int("LOGIN_ATTEMPTS", 5))
    """Failed logins (password or second step) one client address may make for one account per window."""
    login_attempts_per_address: int = field(default_factory=lambda: _env_int("LOGIN_ADDRESS_ATTEMPTS", 30))
    """Failed logins one client address may make in all, over every account, per window."""
    login_window_seconds: int = field(default_factory=lambda: _env_int("LOGIN_WINDOW", 300))
    trusted_proxies: tuple[IPNetwork, ...] = field(default_factory=lambda: _env_networks("TRUSTED_PROXIES"))
    """Comma-separated addresses or CIDRs of the reverse proxies in front of the app: only their
    X-Forwarded-For is believed. Empty (the default): the socket peer is the client."""
    var_dir: Path = field(default_factory=_var_dir)


@dataclass(frozen=True)
class MailSettings:
    backend: str = field(default_factory=lambda: _env("MAIL_BACKEND", "outbox"))
    """outbox (local runs: .eml files in var/outbox) | smtp (SES, SendGrid or any SMTP server)"""
    sender: str = field(default_factory=lambda: _env("MAIL_FROM", "ComputeHub <no-reply@computehub.local>"))
    smtp_host: str = field(default_factory=lambda: _env("SMTP_HOST", "127.0.0.1"))
    smtp_port: int = field(default_factory=lambda: _env_int("SMTP_PORT", 587))
    smtp_username: str = field(default_factory=lambda: _env("SMTP_USERNAME"))
    smtp_password: str = field(default_factory=lambda: _env("SMTP_PASSWORD"))
    smtp_starttls: bool = field(default_factory=lambda: _env_bool("SMTP_STARTTLS", True))
    outbox_dir: Path = field(default_factory=lambda: _var_dir() / "outbox")


@dataclass(frozen=True)
class SandboxSettings:
    enabled: bool = field(default_factory=lambda: _env_bool("SANDBOX", True))
    """The simulated GPU cloud (demo, trials, tests). Its offers are labelled as simulated."""
    demo_account: bool = field(default_factory=lambda: _env_bool("DEMO_ACCOUNT", True))
    demo_email: str = field(default_factory=lambda: _env("DEMO_EMAIL", "demo@computehub.local"))
    demo_password: str = field(default_factory=lambda: _env("DEMO_PASSWORD", "demo-password-123"))
    time_scale: float = field(default_factory=lambda: float(_env("SANDBOX_TIME_SCALE", "1")))
    price_pages: bool = field(default_factory=lambda: _env_bool("SANDBOX_PRICE_PAGES", False))
    """Sandbox mode for the public price pages (/, /gpus, /compare, the sitemap, /api/v1/prices and
    /api/v1/gpus): list the simulated cloud's offers there, labelled "simulated" and without buy
    links. Off by default: the console still launches on the sandbox, but a visitor comparing prices
    never sees made-up ones. Needs ``SANDBOX`` on."""
    store: str = field(default_factory=lambda: _env("SANDBOX_STORE", "database"))
    """database (the sandbox's own tables in the app's database: it survives restarts and every
    web and worker process sees the same instances) | memory (one process, gone with it)"""
    data_dir: Path = field(default_factory=lambda: Path(_env("SANDBOX_DATA_DIR", str(_var_dir() / "sandbox"))))
    """Where the simulated instances' file systems (one directory each) and the demo bucket live."""

    def __post_init__(self) -> None:
        if self.store not in ("database", "memory"):
            raise ValueError("COMPUTEHUB_SANDBOX_STORE must be database or memory")

    @property
    def on_price_pages(self) -> bool:
        return self.enabled and self.price_pages


@dataclass(frozen=True)
class BillingSettings:
    mode: str = field(default_factory=lambda: _env("BILLING_MODE", "local"))
    """local (upgrade/cancel complete without Stripe: demo and tests) | stripe"""
    stripe_secret_key: str = field(default_factory=lambda: _env("STRIPE_SECRET_KEY"))
    stripe_webhook_secret: str = field(default_factory=lambda: _env("STRIPE_WEBHOOK_SECRET"))
    stripe_price_pro: str = field(default_factory=lambda: _env("STRIPE_PRICE_PRO"))
    stripe_price_enterprise: str = field(default_factory=lambda: _env("STRIPE_PRICE_ENTERPRISE"))
    trial_days: int = field(default_factory=lambda: _env_int("TRIAL_DAYS", 7))
    grace_days: int = field(default_factory=lambda: _env_int("BILLING_GRACE_DAYS", 7))
    """How long past_due keeps paid features before they lock."""

    def price_id(self, setting_name: str | None) -> str:
        return {"STRIPE_PRICE_PRO": self.stripe_price_pro,
                "STRIPE_PRICE_ENTERPRISE": self.stripe_price_enterprise}.get(setting_name or "", "")


@dataclass(frozen=True)
class TelegramSettings:
    bot_token: str = field(default_factory=lambda: _env("TELEGRAM_BOT_TOKEN"))
    """Empty: the Telegram channel is off (local runs); messages then go by email only."""
    bot_username: str = field(default_factory=lambda: _env("TELEGRAM_BOT_USERNAME", "ComputeHubBot"))
    mode: str = field(default_factory=lambda: _env("TELEGRAM_MODE", "polling"))
    """polling (local runs: `computehub bot`) | webhook (production: POST /webhooks/telegram)"""
    webhook_secret: str = field(default_factory=lambda: _env("TELEGRAM_WEBHOOK_SECRET"))

    @property
    def enabled(self) -> bool:
        return bool(self.bot_token)


@dataclass(frozen=True)
class RepairSettings:
    """Auto-repair (Pro): health checks of instances that have it on, and the repair attempts."""

    check_interval_seconds: int = field(default_factory=lambda: _env_int("REPAIR_CHECK_SECONDS", 30))
    max_attempts: int = field(default_factory=lambda: _env_int("REPAIR_MAX_ATTEMPTS", 5))
    """Repair attempts per incident before giving up (and telling the user once)."""
    endpoint_failures: int = field(default_factory=lambda: _env_int("REPAIR_ENDPOINT_FAILURES", 3))
    """Consecutive failed checks of the user's health endpoint before a running instance is repaired."""
    unknown_grace_seconds: int = field(default_factory=lambda: _env_int("REPAIR_UNKNOWN_GRACE", 300))
    """How long the provider may report no usable state (or not answer) before that counts as a failure."""
    endpoint_timeout_seconds: float = field(default_factory=lambda: float(_env("REPAIR_ENDPOINT_TIMEOUT", "5")))


RESPONSE_CACHE_BACKENDS = ("auto", "memory", "redis", "off")


@dataclass(frozen=True)
class CacheSettings:
    """The whole-response cache of the public price reads: the pages (/, /gpus, /gpus/<slug>,
    /compare, /sources) for visitors who are not signed in, and /api/v1/prices (app/cache/)."""

    backend: str = field(default_factory=lambda: _env("RESPONSE_CACHE", "auto").strip().lower())
    """auto (redis when COMPUTEHUB_SESSION_STORE=redis, else memory) | memory (one LRU per process)
    | redis (shared by every process, COMPUTEHUB_REDIS_URL) | off (every request renders)"""
    memory_mb: int = field(default_factory=lambda: _env_int("RESPONSE_CACHE_MB", 64))
    """Bound of the in-process cache, MB of bodies per process."""
    redis_ttl_seconds: int = field(default_factory=lambda: _env_int("RESPONSE_CACHE_TTL", 300))
    """How long a body stays in Redis after it was rendered (older data versions are never read)."""

    def __post_init__(self) -> None:
        if self.backend not in RESPONSE_CACHE_BACKENDS:
            raise ValueError(f"COMPUTEHUB_RESPONSE_CACHE must be one of: {', '.join(RESPONSE_CACHE_BACKENDS)}")


@dataclass(frozen=True)
class Settings:
    database: DatabaseSettings = field(default_factory=DatabaseSettings)
    polling: PollingSettings = field(default_factory=PollingSettings)
    provider_keys: ProviderKeys = field(default_factory=ProviderKeys)
    web: WebSettings = field(default_factory=WebSettings)
    security: SecuritySettings = field(default_factory=SecuritySettings)
    mail: MailSettings = field(default_factory=MailSettings)
    sandbox: SandboxSettings = field(default_factory=SandboxSettings)
    billing: BillingSettings = field(default_factory=BillingSettings)
    telegram: TelegramSettings = field(default_factory=TelegramSettings)
    repair: RepairSettings = field(default_factory=RepairSettings)
    cache: CacheSettings = field(default_factory=CacheSettings)
    embedded_worker: bool = field(default_factory=lambda: _env_bool("EMBEDDED_WORKER", False))
    """Run a job worker inside the web process (``make run``); production runs ``computehub worker``."""

    @property
    def response_cache_backend(self) -> str:
        """memory, redis or off: ``auto`` follows the session store (Redis when it is used)."""
        if self.cache.backend == "auto":
            return "redis" if self.security.session_store == "redis" else "memory"
        return self.cache.backend

    @property
    def secure_cookies(self) -> bool:
        """Every cookie we set is ``Secure`` on an https site, unless COMPUTEHUB_SECURE_COOKIES says otherwise."""
        explicit = self.security.secure_cookies
        return self.web.is_https if explicit is None else explicit


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
