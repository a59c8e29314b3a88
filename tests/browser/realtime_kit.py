"""The test process acting as another app process: it signs in through the auth service and places
or moves orders through the service layer against the browser tests' database, publishing on the
same Redis event channel as the app servers (exactly what the background job process does)."""

from __future__ import annotations

import os

import redis
from sqlalchemy import select

from reup_app.db import reset_engine, unit_of_work
from reup_app.events.bus import set_bus
from reup_app.models import EmailOutbox, Notification, Product, User
from reup_app.models.notifications import NotificationPreference
from reup_app.realtime.registry import SessionInfo, get_registry, set_registry
from reup_app.seed.demo_orders import (
    demo_principal,
    entity_id_named,
    move_order,
    place_demo_order,
    stocked_products,
)
from reup_app.settings import get_settings, reset_settings_cache
from tests.browser.conftest import _app_env


def use_app_environment(db_url: str) -> None:
    """Point this process's settings, engine, bus and registry at the app servers' ones."""
    env = _app_env(db_url)
    for name in ("REUP_DATABASE_URL", "REUP_REDIS_URL", "REUP_EVENT_CHANNEL", "REUP_PORT", "REUP_APP_URL"):
        os.environ[name] = env[name]
    reset_settings_cache()
    reset_engine()
    set_bus(None)
    set_registry(None)
    client = redis.Redis.from_url(get_settings().redis_url)
    client.delete(f"{get_settings().event_channel}:trace")  # the app servers append to it
    client.close()


def submit_order(buyer_email: str, seller_name: str, product_id: int | None = None) -> str:
    return place_demo_order(demo_principal(buyer_email), entity_id_named(seller_name), product_id=product_id)


def top_product(seller_name: str) -> Product:
    return stocked_products(entity_id_named(seller_name))[0]


def available(product_id: int):
    with unit_of_work(None) as s:
        return s.get(Product, product_id).available_qty


def session_of(token: str) -> SessionInfo | None:
    """What the session registry says about a browser tab (None: forgotten)."""
    return get_registry().lookup([token]).get(token)


def preference(email: str, kind: str) -> tuple[bool, bool] | None:
    with unit_of_work(None) as s:
        row = (
            s.execute(
                select(NotificationPreference)
                .join(User, User.id == NotificationPreference.user_id)
                .where(User.email == email, NotificationPreference.kind == kind)
            )
            .scalars()
            .first()
        )
        return (row.in_app, row.email) if row else None


def emails_to(email: str) -> list[str]:
    with unit_of_work(None) as s:
        return list(s.execute(select(EmailOutbox.subject).where(EmailOutbox.to_address == email)).scalars())


def transition(actor_email: str, number: str, action: str) -> None:
    move_order(demo_principal(actor_email), number, action)


def notification_count(email: str, entity_name: str) -> int:
    with unit_of_work(None) as s:
        user_id = s.execute(select(User.id).where(User.email == email)).scalar_one()
        return len(
            s.execute(
                select(Notification.id).where(
                    Notification.user_id == user_id, Notification.entity_id == entity_id_named(entity_name)
                )
            ).all()
        )


def deliveries() -> list[tuple[str, str, str]]:
    """(event id, kind, client token) of every push the app servers made (REUP_RT_TRACE)."""
    client = redis.Redis.from_url(get_settings().redis_url)
    try:
        raw = client.lrange(f"{get_settings().event_channel}:trace", 0, -1)
    finally:
        client.close()
    return [tuple(item.decode().split(" ", 2)) for item in raw]
