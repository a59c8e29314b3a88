"""Settings: embedded defaults, environment overrides and the production secret check."""

from __future__ import annotations

import os

import pytest

from reup_app import settings as settings_mod
from reup_app.settings import (
    DEV_SECRET,
    MIN_SECRET_LENGTH,
    PROJECT_ROOT,
    VAR_DIR,
    SettingsError,
    get_settings,
    load_settings,
    reset_settings_cache,
)

STRONG_SECRET = "q8Vd1-Zr7pXwM3kLs0bN9cTf2yHgJ6uAe4RiOo5E"


@pytest.fixture
def env(monkeypatch):
    """A clean REUP_* environment; the settings cache is reset afterwards so no test leaks."""
    for name in list(os.environ):
        if name.startswith("REUP_"):
            monkeypatch.delenv(name)
    yield monkeypatch
    reset_settings_cache()


def test_defaults_use_sqlite_under_var(env):
    s = load_settings()
    assert VAR_DIR == PROJECT_ROOT / "var"
    assert s.database_url == f"sqlite:///{VAR_DIR / 'reup.db'}"
    assert s.is_sqlite
    assert s.redis_url is None
    assert s.env == "dev" and not s.is_production
    assert s.port == 3000 and s.app_url == "http://localhost:3000"
    assert s.secret_key == DEV_SECRET
    assert s.encryption_keys == ()
    assert s.db_ssl_ca is None and s.smtp_url is None


def test_environment_overrides(env):
    env.setenv("REUP_DATABASE_URL", "mysql+pymysql://reup:pw@db.internal:3306/reup")
    env.setenv("REUP_REDIS_URL", "redis://cache:6379/1")
    env.setenv("REUP_SECRET_KEY", STRONG_SECRET)
    env.setenv("REUP_PORT", "8080")
    env.setenv("REUP_APP_URL", "https://reup.example.com/")
    env.setenv("REUP_ENV", "prod")
    env.setenv("REUP_ENCRYPTION_KEYS", " key-new , key-old ,")
    env.setenv("REUP_DB_SSL_CA", "/etc/ssl/rds-ca.pem")
    env.setenv("REUP_SMTP_URL", "smtp://mail:25")
    s = load_settings()
    assert s.database_url == "mysql+pymysql://reup:pw@db.internal:3306/reup" and not s.is_sqlite
    assert s.redis_url == "redis://cache:6379/1"
    assert s.secret_key == STRONG_SECRET
    assert s.port == 8080
    assert s.app_url == "https://reup.example.com"  # trailing slash dropped
    assert s.is_production
    assert s.encryption_keys == ("key-new", "key-old")
    assert s.db_ssl_ca == "/etc/ssl/rds-ca.pem" and s.smtp_url == "smtp://mail:25"
    s.validate_for_production()


def test_app_url_follows_the_port_and_empty_values_mean_unset(env):
    env.setenv("REUP_PORT", "8123")
    env.setenv("REUP_REDIS_URL", "")
    env.setenv("REUP_DATABASE_URL", "")
    s = load_settings()
    assert s.app_url == "http://localhost:8123"
    assert s.redis_url is None
    assert s.database_url.startswith("sqlite:///")


@pytest.mark.parametrize(
    ("secret", "fragment"),
    [
        (None, "REUP_SECRET_KEY must be set"),  # missing: the dev default is refused
        ("Sh0rt-but-random", f"at least {MIN_SECRET_LENGTH} characters"),
        ("ab" * 30, "too repetitive"),
    ],
)
def test_production_refuses_missing_or_weak_secret(env, secret, fragment):
    env.setenv("REUP_ENV", "prod")
    if secret is not None:
        env.setenv("REUP_SECRET_KEY", secret)
    s = load_settings()
    with pytest.raises(SettingsError) as err:
        s.validate_for_production()
    message = str(err.value)
    assert message.startswith("ReUp refuses to start in production")
    assert fragment in message
    if secret:
        assert secret not in message  # never echo the secret


def test_production_accepts_a_strong_secret(env):
    env.setenv("REUP_ENV", "prod")
    env.setenv("REUP_SECRET_KEY", STRONG_SECRET)
    load_settings().validate_for_production()


def test_dev_accepts_the_default_secret(env):
    s = load_settings()
    assert s.secret_key == DEV_SECRET
    s.validate_for_production()  # no error outside production


def test_get_settings_is_cached_until_reset(env):
    env.setenv("REUP_PORT", "4001")
    reset_settings_cache()
    assert get_settings().port == 4001
    env.setenv("REUP_PORT", "4002")
    assert get_settings().port == 4001
    settings_mod.reset_settings_cache()
    assert get_settings().port == 4002
