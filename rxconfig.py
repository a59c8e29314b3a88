"""Reflex configuration, derived from ReUp's settings (REUP_* environment variables)."""

import os

import reflex as rx

from reup_app.settings import get_settings

os.environ.setdefault("REFLEX_TELEMETRY_ENABLED", "false")
os.environ.setdefault("REFLEX_CHECK_LATEST_VERSION", "0")

_s = get_settings()

if _s.redis_url:
    # Opportunistic locking: the worker that owns a tab's socket keeps the tab's state in memory
    # while it keeps sending events (and pushes), instead of a Redis load + save per event; another
    # worker or process that needs the state asks for it and gets it flushed at once. Reflex's own
    # switch; REFLEX_OPLOCK_ENABLED=0 turns it off. The lease is held 9 s (Reflex's default is half
    # the 10 s lock expiry, which must stay above it): tabs whose leases were taken in one burst of
    # pushes all flush and re-lock together when they end, so the longer the lease, the rarer that
    # slow burst. A worker that dies still frees its tabs after the 10 s lock expiry, as before.
    os.environ.setdefault("REFLEX_OPLOCK_ENABLED", "true")
    os.environ.setdefault("REFLEX_OPLOCK_HOLD_TIME", "9s")

config = rx.Config(
    app_name="reup_app",
    telemetry_enabled=False,
    # Socket.IO and CORS accept only the app's own origin (and its loopback aliases for a local run).
    cors_allowed_origins=_s.socket_origins,
    deploy_url=_s.app_url,
    api_url=_s.app_url,
    frontend_port=_s.port,
    backend_port=_s.port,
    redis_url=_s.redis_url,
    state_manager_mode="redis" if _s.redis_url else "memory",
    show_built_with_reflex=False,
    # Behind N reverse proxies, the client address is the N-th from the right in X-Forwarded-For
    # (REUP_TRUSTED_PROXY_HOPS; 0 ignores the header, which any client can forge).
    trusted_proxy_hops=_s.trusted_proxy_hops,
    plugins=[
        rx.plugins.RadixThemesPlugin(
            theme=rx.theme(appearance="light", accent_color="grass", gray_color="sage", radius="medium")
        ),
    ],
    disable_plugins=[rx.plugins.SitemapPlugin],
)
