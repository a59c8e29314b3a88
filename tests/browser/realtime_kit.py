"""The test process acting as another app process: it signs in through the auth service and places
or moves orders through the service layer against the browser tests' database, publishing on the
same Redis event channel as the app servers (exactly what the background job process does)."""

from __future__ import annotations

import math
import os
import uuid
from decimal import Decimal

import redis
from sqlalchemy import select

from reup_app.db import reset_engine, unit_of_work
from reup_app.events.bus import set_bus
from reup_app.models import Entity, License, Notification, Product, User
from reup_app.realtime.registry import set_registry
from reup_app.security.principal import Principal
from reup_app.seed.demo import DEMO_PASSWORD
from reup_app.services import auth, cart, orders
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


def principal_of(email: str) -> Principal:
    with unit_of_work(None) as s:
        result = auth.login(s, email=email, password=DEMO_PASSWORD)
    assert result.principal is not None, result.status
    return result.principal


def entity_id(name: str) -> int:
    with unit_of_work(None) as s:
        return s.execute(select(Entity.id).where(Entity.name == name)).scalar_one()


def submit_order(buyer_email: str, seller_name: str, minimum: Decimal = Decimal("800")) -> str:
    """Fill the buyer's cart with one in-stock product of the seller above its minimum; check out."""
    buyer = principal_of(buyer_email)
    seller_id = entity_id(seller_name)
    with unit_of_work(buyer) as s:
        products = s.execute(select(Product).where(Product.entity_id == seller_id, Product.available_qty > 0,
                                                   Product.listing_state == "available")
                             .order_by(Product.available_qty.desc())).scalars().all()
        licence_id = s.execute(select(License.id).where(License.entity_id == buyer.entity_id,
                                                        License.status == "active")).scalars().first()
    for product in products:
        step = product.min_order_qty or Decimal(1)
        qty = max(step, step * math.ceil(minimum / (product.unit_price * step)))
        if qty <= product.available_qty:
            break
    else:
        raise AssertionError(f"{seller_name} has no product with enough stock")
    with unit_of_work(buyer) as s:
        cart.add_to_cart(s, buyer, product.id, qty)
    with unit_of_work(buyer) as s:
        result = cart.checkout(s, buyer, buyer_license_id=licence_id, idempotency_key=uuid.uuid4().hex,
                               seller_entity_ids=[seller_id])
    return result.orders[0].number


def transition(actor_email: str, number: str, action: str) -> None:
    actor = principal_of(actor_email)
    with unit_of_work(actor) as s:
        orders.transition(s, actor, number, action, idempotency_key=uuid.uuid4().hex)


def notification_count(email: str, entity_name: str) -> int:
    with unit_of_work(None) as s:
        user_id = s.execute(select(User.id).where(User.email == email)).scalar_one()
        return len(s.execute(select(Notification.id).where(
            Notification.user_id == user_id, Notification.entity_id == entity_id(entity_name))).all())


def deliveries() -> list[tuple[str, str, str]]:
    """(event id, kind, client token) of every push the app servers made (REUP_RT_TRACE)."""
    client = redis.Redis.from_url(get_settings().redis_url)
    try:
        raw = client.lrange(f"{get_settings().event_channel}:trace", 0, -1)
    finally:
        client.close()
    return [tuple(item.decode().split(" ", 2)) for item in raw]
