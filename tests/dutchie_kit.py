"""Helpers for the Dutchie tests: a store (retail entity + licence) connected to a fresh sandbox
location, and running its syncs through the real sync runtime."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy import update
from sqlmodel import Session

from reup_app.jobs import dutchie_sync
from reup_app.jobs.outbox_sender import Fence
from reup_app.jobs.sync import run_sync
from reup_app.models import IntegrationConnection, License
from reup_app.security.crypto import encrypt_credentials
from reup_app.security.principal import Principal
from tests.factories import make_entity, make_license, make_member
from tests.sandboxes import DutchieSandbox


@dataclass
class Store:
    entity_id: int
    license: License
    owner: Principal
    key: str
    connection: IntegrationConnection | None = None


def fence() -> Fence:
    return Fence(1, name=f"t-{uuid.uuid4().hex[:8]}")


def make_store(session: Session, sb: DutchieSandbox, *, products=(), stock=(), vendors=(), connect=True) -> Store:
    """A retailer with one store licence, and a fresh sandbox location of that licence number."""
    entity = make_entity(session, "retailer")
    lic = make_license(session, entity, number=f"C10-{uuid.uuid4().hex[:8].upper()}-LIC")
    _user, owner = make_member(session, entity, "owner")
    key = f"test-{uuid.uuid4().hex}"
    sb.new_location(key, f"Store {lic.number}", lic.number, products, stock, vendors)
    store = Store(entity.id, lic, owner, key)
    if connect:
        store.connection = connect_store_row(session, lic, sb.base_url, key)
    return store


def connect_store_row(session: Session, lic: License, base_url: str, key: str) -> IntegrationConnection:
    conn = IntegrationConnection(
        entity_id=lic.entity_id,
        license_id=lic.id,
        provider="dutchie",
        base_url=base_url,
        credentials_encrypted=encrypt_credentials(lic.id, "dutchie", {"location_key": key}),
    )
    session.add(conn)
    session.commit()
    session.refresh(conn)
    return conn


def sync_all(engine, conn: IntegrationConnection, fence_: Fence | None = None) -> dict:
    """Products, inventory and sales of the store, each as a recorded run; resource -> run."""
    fence_ = fence_ or fence()
    fns = {
        "dutchie.products": dutchie_sync.sync_dutchie_products,
        "dutchie.inventory": dutchie_sync.sync_dutchie_inventory,
        "dutchie.sales": dutchie_sync.sync_dutchie_sales,
    }
    return {
        name: run_sync(
            engine, fence_, connection_id=conn.id, resource=name.split(".")[1], fn=lambda ctx, f=fn: f(ctx, conn)
        )
        for name, fn in fns.items()
    }


def disable_sandbox_connections(engine, base_url: str) -> None:
    """Other tests' sync passes walk every enabled connection: leave none pointed at this sandbox enabled."""
    with Session(engine) as s:
        s.execute(update(IntegrationConnection).where(IntegrationConnection.base_url == base_url).values(enabled=False))
        s.commit()
