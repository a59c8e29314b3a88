"""Settings read from the environment, with embedded defaults.

Nothing here imports reflex; every layer (pages, services, jobs, CLI) reads the same object.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
VAR_DIR = PROJECT_ROOT / "var"

# Dev-only default; production refuses to start with it (see `validate_for_production`).
DEV_SECRET = "reup-dev-secret-not-for-production-use-000000"
MIN_SECRET_LENGTH = 32


class SettingsError(RuntimeError):
    """Raised when the configuration cannot be used safely."""


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


@dataclass(frozen=True)
class Settings:
    database_url: str
    redis_url: str | None
    secret_key: str
    port: int
    app_url: str
    env: str  # "dev" or "prod"
    encryption_keys: tuple[str, ...] = field(default_factory=tuple)
    db_ssl_ca: str | None = None
    smtp_url: str | None = None
    # Redis pub/sub channel of the event bus, and the namespace of every other Redis key ReUp keeps
    # (rate limits, principal cache, tickets, session registry): separate deployments (or test
    # runs) sharing one Redis must use different channels.
    event_channel: str = "reup:events"
    access_token_minutes: int = 60
    refresh_token_days: int = 14
    # --- integrations runtime and METRC (issue 11; kept as one block for the pydantic-settings move) ---
    metrc_vendor_key: str | None = None  # the integrator's key; each license's user key is on its connection
    metrc_base_url: str = "http://127.0.0.1:8801"  # the local METRC sandbox; https://api-{st}.metrc.com live
    metrc_facility_gets_per_second: float = 50.0
    metrc_vendor_gets_per_second: float = 150.0
    worker_concurrency: int = 4  # per-connection jobs and outbox sends at a time in the leader
    worker_lease_ttl_ms: int = 15_000
    worker_poll_seconds: float = 2.0
    # --- end integrations block ---

    @property
    def is_production(self) -> bool:
        return self.env == "prod"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def validate_for_production(self) -> None:
        """Stop start-up in production when the secret is missing or weak."""
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
        if problems:
            raise SettingsError("ReUp refuses to start in production: " + "; ".join(problems))


def load_settings() -> Settings:
    port = int(_env("REUP_PORT", "3000"))
    default_db = f"sqlite:///{VAR_DIR / 'reup.db'}"
    keys = tuple(k.strip() for k in (_env("REUP_ENCRYPTION_KEYS", "") or "").split(",") if k.strip())
    return Settings(
        database_url=_env("REUP_DATABASE_URL", default_db),
        redis_url=_env("REUP_REDIS_URL"),
        secret_key=_env("REUP_SECRET_KEY", DEV_SECRET),
        port=port,
        app_url=_env("REUP_APP_URL", f"http://localhost:{port}").rstrip("/"),
        env=_env("REUP_ENV", "dev"),
        encryption_keys=keys,
        db_ssl_ca=_env("REUP_DB_SSL_CA"),
        smtp_url=_env("REUP_SMTP_URL"),
        event_channel=_env("REUP_EVENT_CHANNEL", "reup:events"),
        # integrations runtime and METRC (issue 11)
        metrc_vendor_key=_env("REUP_METRC_VENDOR_KEY"),
        metrc_base_url=_env("REUP_METRC_BASE_URL", "http://127.0.0.1:8801").rstrip("/"),
        metrc_facility_gets_per_second=float(_env("REUP_METRC_FACILITY_GETS_PER_SECOND", "50")),
        metrc_vendor_gets_per_second=float(_env("REUP_METRC_VENDOR_GETS_PER_SECOND", "150")),
        worker_concurrency=int(_env("REUP_WORKER_CONCURRENCY", "4")),
        worker_lease_ttl_ms=int(_env("REUP_WORKER_LEASE_TTL_MS", "15000")),
        worker_poll_seconds=float(_env("REUP_WORKER_POLL_SECONDS", "2")),
    )


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def reset_settings_cache() -> None:
    """For tests and the CLI, which change the environment after import."""
    get_settings.cache_clear()
