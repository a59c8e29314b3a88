"""Reflex configuration, derived from ReUp's settings (REUP_* environment variables)."""

import os

import reflex as rx

from reup_app.settings import get_settings

os.environ.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
os.environ.setdefault("REFLEX_CHECK_LATEST_VERSION", "0")

_s = get_settings()

config = rx.Config(
    app_name="reup_app",
    telemetry_enabled=False,
    # Socket.IO and CORS accept only the app's own origin.
    cors_allowed_origins=[_s.app_url],
    deploy_url=_s.app_url,
    api_url=_s.app_url,
    frontend_port=_s.port,
    backend_port=_s.port,
    redis_url=_s.redis_url,
    state_manager_mode="redis" if _s.redis_url else "memory",
    show_built_with_reflex=False,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="light", accent_color="grass", gray_color="sage", radius="medium")
        ),
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
