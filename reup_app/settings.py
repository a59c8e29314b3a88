"""Settings read from the environment (every ``REUP_*`` variable), with embedded defaults.

One typed pydantic-settings class; nothing here imports reflex, so every layer (pages, services,
jobs, CLI) reads the same object through `get_settings()`. An empty variable counts as unset.
A value that cannot be used (``REUP_ENV=production``, ``REUP_PORT=abc``) raises `SettingsError`
with the variable's name, so start-up stops with one clear line.

Adding a setting: add a typed field below (its variable is ``REUP_<FIELD NAME>``), a row in the
README's configuration table, and a test in tests/unit/test_settings.py.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"

# Dev-only default; production refuses to start with it (see `validate_for_production`).
DEV_SECRET = "reup-dev-secret-not-for-production-use-000000"
MIN_SECRET_LENGTH = 32
ENVIRONMENTS = ("dev", "prod")
MAX_PRINCIPAL_CACHE_SECONDS = 30.0


class SettingsError(RuntimeError):
    """Raised when the configuration cannot be used safely."""


class Settings(BaseSettings):
    """Every REUP_* variable. Field `x` is read from `REUP_X`."""

    model_config = SettingsConfigDict(env_prefix="REUP_", env_ignore_empty=True, frozen=True, extra="ignore")

    env: Literal["dev", "prod"] = "dev"  # "prod" enforces the production checks
    database_url: str = f"sqlite:///{VAR_DIR / 'reup.db'}"
    db_ssl_ca: str | None = None
    redis_url: str | None = None
    secret_key: str = DEV_SECRET
    encryption_keys: Annotated[tuple[str, ...], NoDecode] = ()
    port: int = Field(3000, ge=1, le=65535)
    app_url: str = ""  # default: http://localhost:<port>
    # Reverse proxies in front of the app that append to X-Forwarded-For (0: ignore the header).
    # Reflex and the REST API then take the address that many hops from the right as the client's,
    # so rate limits and the audit trail see the real client, not the proxy.
    trusted_proxy_hops: int = Field(0, ge=0, le=10)
    smtp_url: str | None = None
    # Outbox sender: attempts per e-mail before it is marked 'failed' (admins can retry it).
    email_max_attempts: int = Field(6, ge=1, le=50)
    # Redis pub/sub channel of the event bus, and the namespace of every other Redis key ReUp keeps
    # (rate limits, principal cache, tickets, session registry): separate deployments (or test
    # runs) sharing one Redis must use different channels.
    event_channel: str = "reup:events"
    access_token_minutes: int = Field(60, ge=1)
    refresh_token_days: int = Field(14, ge=1)
    media_dir: Path = VAR_DIR / "product_images"  # private storage of product images
    # Seconds a resolved principal may be served from cache (0 disables; capped at 30).
    principal_cache_seconds: float = Field(15.0, ge=0)
    rt_sweep_seconds: float = Field(30.0, gt=0)  # push hub keep-alive / forget closed tabs
    rt_trace: bool = False  # record every push delivery in Redis (multi-worker tests)
    # Log lines: "json" (one object per line with the request id: reup_app/logs.py) or "text".
    log_format: Literal["json", "text"] = "json"
    # Python's garbage collector in app and worker processes: a full collection at most once per
    # this many collections of the middle generation (0: CPython's default, 10); reup_app/gc_tuning.py
    gc_full_every: int = Field(100, ge=0, le=100_000)

    @field_validator("encryption_keys", mode="before")
    @classmethod
    def _split_keys(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(k.strip() for k in value.split(",") if k.strip())
        return value

    @field_validator("principal_cache_seconds")
    @classmethod
    def _cap_cache(cls, value: float) -> float:
        return min(value, MAX_PRINCIPAL_CACHE_SECONDS)

    @model_validator(mode="after")
    def _default_app_url(self) -> Settings:
        url = (self.app_url or f"http://localhost:{self.port}").rstrip("/")
        object.__setattr__(self, "app_url", url)  # frozen model: set once, here
        return self

    # --- integrations runtime and METRC ---
    metrc_vendor_key: str | None = None  # the integrator's key; each license's user key is on its connection
    metrc_base_url: str = "http://127.0.0.1:8801"  # the local METRC sandbox; https://api-{st}.metrc.com live
    metrc_facility_gets_per_second: float = Field(50.0, gt=0)
    metrc_vendor_gets_per_second: float = Field(150.0, gt=0)
    metrc_timeout_seconds: float = Field(20.0, gt=0)  # per METRC request; a POST past it is an ambiguous write
    metrc_transfer_poll_seconds: float = Field(15.0, gt=0)  # how often open manifests are followed in METRC
    # Fleetbase deliveries: each seller license's API key is on its connection; one webhook endpoint
    # (POST /api/webhooks/fleetbase) whose signing secret(s) are here (comma-separated to rotate).
    fleetbase_base_url: str = "http://127.0.0.1:8802/v1"  # the local sandbox; https://api.fleetbase.io/v1 live
    fleetbase_timeout_seconds: float = Field(20.0, gt=0)
    fleetbase_webhook_secret: str | None = None
    fleetbase_webhook_max_age_seconds: float = Field(43_200.0, gt=0)  # older (or further ahead) events are stale
    delivery_problem_window_hours: float = Field(48.0, gt=0)  # the buyer may report a problem this long
    demo_fleetbase: bool = False  # the demo seed connects the demo wholesalers to the Fleetbase sandbox
    dutchie_base_url: str = "http://127.0.0.1:8803"  # the local Dutchie sandbox; https://api.pos.dutchie.com live
    dutchie_timeout_seconds: float = Field(30.0, gt=0)  # per Dutchie request
    worker_concurrency: int = Field(4, ge=1)  # per-connection jobs and outbox sends at a time in the leader
    worker_lease_ttl_ms: int = Field(15_000, ge=1000)
    worker_poll_seconds: float = Field(2.0, gt=0)
    # Run the job scheduler inside the app process (scripts/start.sh without Redis: the in-process event
    # bus then carries sync progress to the browser). Ignored when redis_url is set: run `reup worker`.
    embedded_worker: bool = False

    # --- scale-out (docs/DEPLOY.md) ---
    # Read replicas (comma-separated URLs): read-only units of work (catalog, product pages,
    # dashboards, order lists) go to a replica whose lag is at most `replica_max_lag_seconds`,
    # else to the primary; a user who wrote reads from the primary for `read_your_writes_seconds`.
    database_replica_urls: Annotated[tuple[str, ...], NoDecode] = ()
    replica_max_lag_seconds: float = Field(5.0, ge=0)
    read_your_writes_seconds: float = Field(5.0, ge=0)

    @field_validator("database_replica_urls", mode="before")
    @classmethod
    def _split_replicas(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(u.strip() for u in value.split(",") if u.strip())
        return value

    @property
    def is_production(self) -> bool:
        return self.env == "prod"

    @property
    def socket_origins(self) -> list[str]:
        """Origins Socket.IO and CORS accept: the app URL, and when it is a loopback name
        (localhost / 127.0.0.1 / [::1]) the same scheme and port under the other loopback names,
        so a local run opened at http://127.0.0.1:PORT works as well as at localhost."""
        parts = urlsplit(self.app_url)
        if parts.hostname not in ("localhost", "127.0.0.1", "::1") or parts.path not in ("", "/"):
            return [self.app_url]
        port = f":{parts.port}" if parts.port else ""
        aliases = [f"{parts.scheme}://{name}{port}" for name in ("localhost", "127.0.0.1", "[::1]")]
        return [self.app_url] + [a for a in aliases if a != self.app_url]

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def validate_for_production(self) -> None:
        """Stop start-up in production when the secret is missing or weak, or the app URL is not https."""
        if not self.is_production:
            return
        problems = []
        if self.secret_key == DEV_SECRET or len(self.secret_key) < MIN_SECRET_LENGTH:
            problems.append(
                f"REUP_SECRET_KEY must be set to a random value of at least {MIN_SECRET_LENGTH} "
                "characters (e.g. `python -c 'import secrets; print(secrets.token_urlsafe(48))'`)"
            )
        if len(set(self.secret_key)) < 10:
            problems.append("REUP_SECRET_KEY is too repetitive to be a real secret")
        if not self.app_url.startswith("https://") or len(self.app_url) <= len("https://"):
            problems.append(f"REUP_APP_URL must be the public https:// URL of the app, not {self.app_url!r}")
        if problems:
            raise SettingsError("ReUp refuses to start in production: " + "; ".join(problems))


def _describe(err: ValidationError) -> str:
    """One line per bad variable, naming it; never echoes a value (it may be a secret)."""
    lines = []
    for e in err.errors():
        name = "REUP_" + str(e["loc"][0]).upper() if e["loc"] else "REUP_*"
        if name == "REUP_ENV":
            lines.append(f"REUP_ENV must be one of {', '.join(ENVIRONMENTS)}")
        else:
            lines.append(f"{name}: {e['msg']}")
    return "invalid configuration: " + "; ".join(lines)


def load_settings() -> Settings:
    """Read the environment now (SettingsError naming the variable when a value is unusable)."""
    try:
        return Settings()  # type: ignore[call-arg]  # pydantic-settings fills the fields from the environment
    except ValidationError as err:
        raise SettingsError(_describe(err)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reset_settings_cache() -> None:
    """For tests and the CLI, which change the environment after import."""
    get_settings.cache_clear()
