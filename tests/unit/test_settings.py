"""Settings: embedded defaults, environment overrides, typed values and the production checks."""

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
    env.setenv("REUP_APP_URL", "https://reup.example.com")
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


def test_every_reup_setting_has_a_typed_default(env):
    s = load_settings()
    assert s.trusted_proxy_hops == 0
    assert s.media_dir == VAR_DIR / "product_images"
    assert s.principal_cache_seconds == 15.0
    assert s.rt_sweep_seconds == 30.0 and s.rt_trace is False
    assert s.email_max_attempts == 6
    assert s.event_channel == "reup:events"


def test_settings_read_elsewhere_before_come_from_the_class(env, tmp_path):
    env.setenv("REUP_MEDIA_DIR", str(tmp_path / "media"))
    env.setenv("REUP_PRINCIPAL_CACHE_SECONDS", "90")  # capped at 30
    env.setenv("REUP_RT_SWEEP_SECONDS", "2")
    env.setenv("REUP_RT_TRACE", "1")
    env.setenv("REUP_TRUSTED_PROXY_HOPS", "2")
    s = load_settings()
    assert s.media_dir == tmp_path / "media"
    assert s.principal_cache_seconds == 30.0
    assert s.rt_sweep_seconds == 2.0 and s.rt_trace is True
    assert s.trusted_proxy_hops == 2


def test_images_and_principal_cache_read_the_settings(env, tmp_path):
    from reup_app.services.catalog.images import media_root
    from reup_app.services.identity.principal_cache import cache_ttl

    env.setenv("REUP_MEDIA_DIR", str(tmp_path / "m"))
    env.setenv("REUP_PRINCIPAL_CACHE_SECONDS", "4")
    reset_settings_cache()
    assert media_root() == tmp_path / "m"
    assert cache_ttl() == 4.0


@pytest.mark.parametrize("value", ["production", "staging", "PROD", "development"])
def test_unknown_env_stops_start_up_with_a_clear_message(env, value):
    env.setenv("REUP_ENV", value)
    with pytest.raises(SettingsError) as err:
        load_settings()
    assert "REUP_ENV must be one of dev, prod" in str(err.value)


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("REUP_PORT", "eighty"),
        ("REUP_PORT", "70000"),
        ("REUP_TRUSTED_PROXY_HOPS", "-1"),
        ("REUP_PRINCIPAL_CACHE_SECONDS", "soon"),
        ("REUP_EMAIL_MAX_ATTEMPTS", "0"),
    ],
)
def test_unusable_values_name_their_variable(env, name, value):
    env.setenv(name, value)
    with pytest.raises(SettingsError) as err:
        get_settings()
    assert name in str(err.value) and str(err.value).startswith("invalid configuration")


@pytest.mark.parametrize("url", [None, "http://reup.example.com", "reup.example.com", "https://"])
def test_production_requires_an_https_app_url(env, url):
    env.setenv("REUP_ENV", "prod")
    env.setenv("REUP_SECRET_KEY", STRONG_SECRET)
    if url is not None:
        env.setenv("REUP_APP_URL", url)
    with pytest.raises(SettingsError) as err:
        load_settings().validate_for_production()
    assert "REUP_APP_URL must be the public https:// URL" in str(err.value)
    assert "REUP_SECRET_KEY" not in str(err.value)


def test_dev_accepts_plain_http_app_url(env):
    env.setenv("REUP_APP_URL", "http://10.0.0.5:3000")
    load_settings().validate_for_production()


def test_settings_are_read_only(env):
    s = load_settings()
    with pytest.raises(ValueError):
        s.port = 1  # type: ignore[misc]


def _request(peer: str, forwarded: str | None):
    from starlette.requests import Request

    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers, "client": (peer, 5000)})


@pytest.mark.parametrize(
    ("hops", "forwarded", "expected"),
    [
        (0, "6.6.6.6", "10.0.0.2"),  # no proxy configured: a client-sent header is ignored
        (1, "6.6.6.6, 203.0.113.7", "203.0.113.7"),  # one proxy: the address it appended
        (2, "6.6.6.6, 203.0.113.7, 10.0.0.9", "203.0.113.7"),  # CDN + load balancer
        (2, "203.0.113.7", "10.0.0.2"),  # fewer entries than hops: keep the peer
    ],
)
def test_api_client_address_follows_trusted_proxy_hops(env, hops, forwarded, expected):
    from reup_app.api.auth_routes import _client_ip

    env.setenv("REUP_TRUSTED_PROXY_HOPS", str(hops))
    reset_settings_cache()
    assert _client_ip(_request("10.0.0.2", forwarded)) == expected
