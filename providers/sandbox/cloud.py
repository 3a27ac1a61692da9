"""The simulated GPU cloud's state: accounts, instances, their lifecycle and injected faults.

Nothing runs in the background. An instance stores the status it entered and when; reading it
replays every transition that is due by ``clock()`` at the exact time it was due, so what a
test observes depends only on the clock, never on when or how often it looked.

Each API key is its own account. Public methods take the key and raise ``ApiError`` (the HTTP
status and error body the server answers with) exactly as the REST API does.
"""

from __future__ import annotations

import hashlib
import random
import re
import secrets
import threading
from dataclasses import dataclass, field, fields, replace
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from providers.sandbox.catalog import INSTANCE_TYPES, offers_json
from providers.sandbox.clock import Clock, utc_now
from providers.sandbox.store import AccountState, InstanceState, MemoryStore, SandboxStore

API_KEY_PATTERN = re.compile(r"^sbx_[A-Za-z0-9_-]{16,}$")

# Raw statuses, as the API reports them.
PROVISIONING = "provisioning"
RUNNING = "running"
REBOOTING = "rebooting"
STOPPING = "stopping"
STOPPED = "stopped"
TERMINATING = "terminating"
TERMINATED = "terminated"
ERROR = "error"  # the boot failed
CRASHED = "crashed"  # it ran, then died
PREEMPTED = "preempted"  # a spot instance the cloud took back: terminated, not by the user
RAW_STATUSES = (PROVISIONING, RUNNING, REBOOTING, STOPPING, STOPPED, TERMINATING, TERMINATED, ERROR, CRASHED,
                PREEMPTED)
_ENDED = (TERMINATED, PREEMPTED)

# Which action each status allows; anything else is 409 invalid_state.
ACTIONS_FROM = {
    "start": {STOPPED, ERROR, CRASHED},
    "stop": {RUNNING},
    "reboot": {RUNNING},
}


def generate_api_key() -> str:
    """A fresh sandbox key (each key is a new, empty account)."""
    return "sbx_" + secrets.token_urlsafe(24)


class ApiError(Exception):
    """An error answer of the sandbox API: HTTP status + ``{"error": {"code", "message"}}``."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": self.message}}


@dataclass(frozen=True)
class Timings:
    """Seconds each transition takes (before ``time_scale``)."""

    boot: float = 20
    stop: float = 5
    reboot: float = 10
    terminate: float = 5
    retention: float = 600
    """How long a terminated instance stays visible before it is gone (404)."""

    def scaled(self, factor: float) -> Timings:
        """``factor`` multiplies every duration: 0.1 is ten times faster, 0 is instant."""
        if factor < 0:
            raise ValueError("time_scale cannot be negative")
        return Timings(**{f.name: getattr(self, f.name) * factor for f in fields(self)})


@dataclass(frozen=True)
class Faults:
    """Failures to inject into one account. ``PUT /v1/faults`` takes the same fields as JSON."""

    fail_boot: bool = False
    """Instances created or started from now on end in ``error`` instead of ``running``."""
    crash_after_seconds: float | None = None
    """A running instance becomes ``crashed`` after this many seconds of running."""
    api_error_rate: float = 0.0
    """Share of API calls (0..1) answered 500, drawn from a RNG seeded with ``seed``."""
    seed: int = 0
    rate_limited: bool = False
    """Every API call answers 429 with ``Retry-After: retry_after_seconds``."""
    retry_after_seconds: int = 30
    latency_seconds: float = 0.0
    """Every API call answers this much later (real time, not the sandbox clock)."""
    latency_after_create_seconds: float = 0.0
    """A launch answers this much later *after* the instance was created and stored (real time): the
    window in which a client that dies, or gives up, never learns of an instance that exists."""
    no_capacity_types: frozenset[str] = frozenset()
    """Launching these instance types answers 409 ``no_capacity``."""
    no_capacity_regions: frozenset[str] = frozenset()
    """Launching anything in these regions answers 409 ``no_capacity``."""
    crash_regions: frozenset[str] = frozenset()
    """When not empty, ``crash_after_seconds`` crashes only the instances in these regions."""
    quota: int | None = None
    """At most this many instances that are not terminated; one more answers 403 ``quota_exceeded``."""
    health_failing: bool = False
    """Running instances fail their health checks (the machine runs, the service on it does not)."""
    preempt_spot_after_seconds: float | None = None
    """A running spot instance is taken back (``preempted``, terminated) after this many seconds of running."""
    sync_fails_halfway: bool = False
    """A file copy on an instance (rclone copy) stops after half of the files and exits non-zero."""
    checksum_mismatch: bool = False
    """A copy onto an instance silently corrupts one byte of one file (its size and time kept)."""

    def __post_init__(self) -> None:
        for name in ("no_capacity_types", "no_capacity_regions", "crash_regions"):
            object.__setattr__(self, name, frozenset(getattr(self, name)))
        if not 0 <= self.api_error_rate <= 1:
            raise ValueError("api_error_rate is a share between 0 and 1")
        for name in ("crash_after_seconds", "quota", "preempt_spot_after_seconds"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} cannot be negative")
        if self.latency_seconds < 0 or self.retry_after_seconds < 0 or self.latency_after_create_seconds < 0:
            raise ValueError("latency_seconds, latency_after_create_seconds and retry_after_seconds cannot be negative")

    @classmethod
    def from_json(cls, body: Any) -> Faults:
        if not isinstance(body, dict):
            raise ValueError("faults must be a JSON object")
        unknown = set(body) - set(_JSON_TYPES)
        if unknown:
            raise ValueError(f"unknown fault(s): {', '.join(sorted(unknown))}")
        for name, value in body.items():
            if not _json_type_ok(value, _JSON_TYPES[name]):
                raise ValueError(f"{name}: expected {_JSON_TYPES[name]}")
        return cls(**body)

    def to_json(self) -> dict[str, Any]:
        data = {f.name: getattr(self, f.name) for f in fields(self)}
        for name in ("no_capacity_types", "no_capacity_regions", "crash_regions"):
            data[name] = sorted(getattr(self, name))
        return data


_JSON_TYPES = {
    "fail_boot": "boolean", "crash_after_seconds": "number or null", "api_error_rate": "number",
    "seed": "integer", "rate_limited": "boolean", "retry_after_seconds": "integer",
    "latency_seconds": "number", "latency_after_create_seconds": "number", "no_capacity_types": "list of strings",
    "no_capacity_regions": "list of strings", "crash_regions": "list of strings", "quota": "integer or null",
    "health_failing": "boolean", "preempt_spot_after_seconds": "number or null",
    "sync_fails_halfway": "boolean", "checksum_mismatch": "boolean",
}


def _json_type_ok(value: Any, expected: str) -> bool:
    if value is None:
        return expected.endswith("or null")
    if isinstance(value, bool):
        return expected == "boolean"
    if expected.startswith("integer"):
        return isinstance(value, int)
    if expected.startswith("number"):
        return isinstance(value, (int, float, Decimal))
    if expected == "list of strings":
        return isinstance(value, list) and all(isinstance(v, str) for v in value)
    return False


def _iso(when: datetime) -> str:
    return when.isoformat().replace("+00:00", "Z")


def _digest(api_key: str | None) -> str:
    if not api_key or not API_KEY_PATTERN.match(api_key):
        raise ApiError(401, "invalid_api_key", "the API key is missing or malformed")
    # Hashed so the simulation never holds a key as data it could echo back.
    return hashlib.sha256(api_key.encode()).hexdigest()


def _faults_of(state: AccountState) -> Faults:
    return Faults.from_json(state.faults_json) if state.faults_json else Faults()


class SandboxCloud:
    """The simulation's rules over a store: ``MemoryStore`` (default) or ``DatabaseStore``."""

    def __init__(self, clock: Clock = utc_now, timings: Timings | None = None,
                 store: SandboxStore | None = None) -> None:
        self.clock = clock
        self.timings = timings or Timings()
        self.store: SandboxStore = store or MemoryStore()

    def _account(self, api_key: str | None):
        return self.store.account(_digest(api_key), self.clock())

    # -- accounts and faults --------------------------------------------------------------

    def faults(self, api_key: str) -> Faults:
        with self._account(api_key) as account:
            return _faults_of(account.state)

    def set_faults(self, api_key: str, faults: Faults | None = None, **changes: Any) -> Faults:
        """Replace the account's faults: ``set_faults(key, Faults(...))`` or ``set_faults(key, quota=1)``."""
        new = replace(faults or Faults(), **changes)
        with self._account(api_key) as account:
            account.state.faults_json, account.state.rng_draws = new.to_json(), 0
        return new

    def check_call_faults(self, api_key: str) -> None:
        """The per-call faults (429, 500) of an authenticated API call; raises their ApiError."""
        _, error = self.call_faults(api_key)
        if error is not None:
            raise error

    def call_faults(self, api_key: str) -> tuple[float, ApiError | None]:
        """One authenticated API call's faults in one transaction: its latency, and the 429/500 it
        answers (or None). Raises 401 for a bad key."""
        error = None
        with self._account(api_key) as account:
            faults = _faults_of(account.state)
            if faults.rate_limited:
                error = ApiError(429, "rate_limited", "too many requests",
                                 headers={"Retry-After": str(faults.retry_after_seconds)})
            elif faults.api_error_rate:
                # The n-th draw of a RNG seeded with ``seed``: the same sequence across restarts.
                rng = random.Random(faults.seed)
                for _ in range(account.state.rng_draws):
                    rng.random()
                account.state.rng_draws += 1
                if rng.random() < faults.api_error_rate:
                    error = ApiError(500, "internal_error", "the sandbox had an internal error (injected)")
        return faults.latency_seconds, error  # returned, not raised in the block, so the draw is kept

    def summary(self, api_key: str) -> dict[str, Any]:
        """For the admin page: the account's instances by status and its faults."""
        with self._account(api_key) as account:
            faults, now = _faults_of(account.state), self.clock()
            counts: dict[str, int] = {}
            for inst in account.instances():
                if self._settle(account, inst, faults, now):
                    counts[inst.status] = counts.get(inst.status, 0) + 1
            return {"instances": dict(sorted(counts.items())), "faults": faults}

    # -- reads ---------------------------------------------------------------------------

    def offers(self) -> list[dict[str, Any]]:
        return offers_json()

    def list_instances(self, api_key: str) -> list[dict[str, Any]]:
        with self._account(api_key) as account:
            faults, now = _faults_of(account.state), self.clock()
            return [self._to_json(inst) for inst in account.instances() if self._settle(account, inst, faults, now)]

    def get_instance(self, api_key: str, instance_id: str) -> dict[str, Any]:
        with self._account(api_key) as account:
            return self._to_json(self._find(account, instance_id, _faults_of(account.state), self.clock()))

    def health(self, api_key: str, instance_id: str) -> dict[str, Any]:
        """What the instance's health endpoint answers, decided by the simulation alone: a
        running instance is healthy unless the ``health_failing`` fault is on. Nothing is
        contacted: the simulated instances have no real endpoint."""
        with self._account(api_key) as account:
            faults = _faults_of(account.state)
            inst = self._find(account, instance_id, faults, self.clock())
            if inst.status != RUNNING:
                return {"healthy": False, "detail": f"the instance is {inst.status}"}
            if faults.health_failing:
                return {"healthy": False, "detail": "the service on the instance does not answer (injected fault)"}
            return {"healthy": True, "detail": "the service on the instance answers"}

    # -- writes --------------------------------------------------------------------------

    def create_instance(self, api_key: str, body: Any) -> tuple[dict[str, Any], bool]:
        """Launch; returns (instance, created). A known ``client_token`` returns its instance."""
        spec = _launch_spec(body)
        with self._account(api_key) as account:
            faults, now = _faults_of(account.state), self.clock()
            token = spec["client_token"]
            if token:
                known = account.by_token(token)
                if known is not None and self._settle(account, known, faults, now):
                    return self._to_json(known), False
            if spec["instance_type"].name in faults.no_capacity_types or spec["region"] in faults.no_capacity_regions:
                raise ApiError(409, "no_capacity",
                               f"no capacity for {spec['instance_type'].name} in {spec['region']} right now")
            if faults.quota is not None:
                for inst in account.instances():  # settle first: an instance that ended frees its slot
                    self._settle(account, inst, faults, now)
                if account.live_count(_ENDED) >= faults.quota:
                    raise ApiError(403, "quota_exceeded",
                                   f"the account's quota of {faults.quota} instance(s) is used up")
            itype = spec["instance_type"]
            instance_id = "i-" + secrets.token_hex(8)
            inst = InstanceState(
                id=instance_id,
                name=spec["name"],
                instance_type=itype.name,
                region=spec["region"],
                image=spec["image"],
                disk_gb=spec["disk_gb"] or itype.disk_gb,
                spot=spec["spot"],
                client_token=token,
                price_per_hour=itype.price(spec["spot"]),
                public_ip=f"198.51.100.{int(instance_id[2:], 16) % 254 + 1}",  # TEST-NET-2: never routable
                created_at=now,
                status=PROVISIONING,
                since=now,
                boot_fails=faults.fail_boot,
            )
            account.add(inst)
            return self._to_json(inst), True

    def act(self, api_key: str, instance_id: str, action: str) -> dict[str, Any]:
        if action not in ACTIONS_FROM:
            raise ApiError(404, "not_found", f"no such action: {action}")
        with self._account(api_key) as account:
            faults, now = _faults_of(account.state), self.clock()
            inst = self._find(account, instance_id, faults, now)
            if inst.status not in ACTIONS_FROM[action]:
                raise ApiError(409, "invalid_state", f"cannot {action} an instance that is {inst.status}")
            if action == "start":
                inst.status, inst.boot_fails = PROVISIONING, faults.fail_boot
            else:
                inst.status = STOPPING if action == "stop" else REBOOTING
            inst.since = now
            account.changed(inst)
            return self._to_json(inst)

    def delete_instance(self, api_key: str, instance_id: str) -> bool:
        """Start terminating; False when it was already terminated (still visible, nothing to do)."""
        with self._account(api_key) as account:
            faults, now = _faults_of(account.state), self.clock()
            inst = self._find(account, instance_id, faults, now)
            if inst.status in _ENDED:
                return False
            if inst.status != TERMINATING:
                inst.status, inst.since = TERMINATING, now
                account.changed(inst)
            return True

    # -- the lazy state machine ----------------------------------------------------------

    def _find(self, account, instance_id: str, faults: Faults, now: datetime) -> InstanceState:
        inst = account.instance(instance_id)
        if inst is None or not self._settle(account, inst, faults, now):
            raise ApiError(404, "not_found", "no instance with this id in this account")
        return inst

    def _next(self, inst: InstanceState, faults: Faults) -> tuple[str | None, float] | None:
        """The transition due after ``inst.status``: (next status or None for gone, after seconds)."""
        t = self.timings
        if inst.status == PROVISIONING:
            return (ERROR if inst.boot_fails else RUNNING), t.boot
        if inst.status == REBOOTING:
            return RUNNING, t.reboot
        if inst.status == STOPPING:
            return STOPPED, t.stop
        if inst.status == TERMINATING:
            return TERMINATED, t.terminate
        if inst.status == RUNNING:
            crashes = faults.crash_after_seconds is not None and (
                not faults.crash_regions or inst.region in faults.crash_regions)
            ends = [(CRASHED, faults.crash_after_seconds)] if crashes else []
            if inst.spot and faults.preempt_spot_after_seconds is not None:
                ends.append((PREEMPTED, faults.preempt_spot_after_seconds))
            if ends:
                return min(ends, key=lambda end: end[1])
        if inst.status in _ENDED:
            return None, t.retention
        return None

    def _settle(self, account, inst: InstanceState, faults: Faults, now: datetime) -> bool:
        """Replay every transition due by ``now``; False when the instance is gone (retention over)."""
        changed = False
        while (step := self._next(inst, faults)) is not None:
            status, after = step
            due = inst.since + timedelta(seconds=after)
            if due > now:
                break
            if status is None:
                account.remove(inst)
                return False
            inst.status, inst.since, changed = status, due, True
        if changed:
            account.changed(inst)
        return True

    def _to_json(self, inst: InstanceState) -> dict[str, Any]:
        itype = INSTANCE_TYPES[inst.instance_type]
        return {
            "id": inst.id,
            "name": inst.name,
            "status": inst.status,
            "status_since": _iso(inst.since),
            "instance_type": inst.instance_type,
            "region": inst.region,
            "image": inst.image,
            "disk_gb": inst.disk_gb,
            "spot": inst.spot,
            "gpu": {"name": itype.gpu_name, "count": itype.gpu_count, "memory_gb": itype.gpu_memory_gb},
            "price_per_hour": str(inst.price_per_hour),
            "currency": "USD",
            "public_ip": inst.public_ip if inst.status in (RUNNING, REBOOTING) else None,
            "created_at": _iso(inst.created_at),
            "tags": {"client_token": inst.client_token} if inst.client_token else {},
        }


def _launch_spec(body: Any) -> dict[str, Any]:
    """Validate ``POST /v1/instances``; 400 ``invalid_request`` names the first bad field."""

    def bad(message: str) -> ApiError:
        return ApiError(400, "invalid_request", message)

    if not isinstance(body, dict):
        raise bad("the body must be a JSON object")
    name = body.get("name")
    if not isinstance(name, str) or not 1 <= len(name) <= 64:
        raise bad("name: a string of 1 to 64 characters is required")
    itype = INSTANCE_TYPES.get(body.get("instance_type"))  # type: ignore[arg-type]
    if itype is None:
        raise bad(f"instance_type: unknown; one of {', '.join(INSTANCE_TYPES)}")
    region = body.get("region")
    if region not in itype.regions:
        raise bad(f"region: {itype.name} is offered in {', '.join(itype.regions)}")
    spot = body.get("spot", False)
    if not isinstance(spot, bool):
        raise bad("spot: must be true or false")
    if spot and itype.spot is None:
        raise bad(f"spot: {itype.name} has no spot market")
    disk_gb = body.get("disk_gb")
    if disk_gb is not None and (isinstance(disk_gb, bool) or not isinstance(disk_gb, int) or disk_gb < 20):
        raise bad("disk_gb: an integer of at least 20")
    for key in ("image", "ssh_public_key", "client_token"):
        if not isinstance(body.get(key, ""), str):
            raise bad(f"{key}: must be a string")
    token = body.get("client_token", "")
    if len(token) > 128:
        raise bad("client_token: at most 128 characters")
    return {"name": name, "instance_type": itype, "region": region, "spot": spot, "disk_gb": disk_gb,
            "image": body.get("image") or "ubuntu-22.04-cuda-12", "client_token": token}


_default_cloud: SandboxCloud | None = None
_default_lock = threading.Lock()


def get_cloud() -> SandboxCloud:
    """The process-wide cloud behind the ``sandbox`` provider (timings scaled by settings; its state
    in the app's database unless ``COMPUTEHUB_SANDBOX_STORE=memory``)."""
    global _default_cloud
    with _default_lock:
        if _default_cloud is None:
            from app.settings import get_settings  # providers/ reads app settings lazily, once

            settings = get_settings()
            _default_cloud = SandboxCloud(timings=Timings().scaled(settings.sandbox.time_scale),
                                          store=_store_for(settings))
        return _default_cloud


def _store_for(settings) -> SandboxStore:
    if settings.sandbox.store == "memory":
        return MemoryStore()
    from sqlalchemy import create_engine

    from providers.sandbox.store import DatabaseStore

    url = settings.database.url.replace("sqlite+aiosqlite", "sqlite").replace("postgresql+asyncpg",
                                                                              "postgresql+psycopg")
    size = settings.database.pool_size
    return DatabaseStore(create_engine(url, pool_pre_ping=True, pool_size=size, max_overflow=size))
