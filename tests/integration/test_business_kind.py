"""Seller-only and buyer-only actions are refused to the other kind of business, even to its owner.

Derived from `permissions.ACTION_KINDS` (the one table; `tests/unit/test_permissions.py` writes it out
independently): every service entry point below is called by the owner of a wholesaler and of a
retailer, each on rows of *its own* business (made with the factories whatever the kind, so the
row-ownership check passes and only the kind check can refuse). The other kind is refused with
PermissionDenied and changes nothing; the right kind is never refused for its kind. The fuzzer's
finding: `price_tiers.create_tier` by a retailer's owner wrote tiers.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from sqlmodel import Session

from reup_app.errors import NotFound, PermissionDenied, ServiceError
from reup_app.models import PriceTier, Product
from reup_app.security.permissions import ACTION_KINDS, KIND_DENIED
from reup_app.services.billing import payments
from reup_app.services.catalog import images, price_tiers, product_csv, products
from reup_app.services.inventory import lot_management
from reup_app.services.ordering import cart, checkout_flow, line_edits, orders, reordering
from tests.integration import orderkit as ok

pytestmark = pytest.mark.mysql
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@dataclass(frozen=True)
class EntryPoint:
    name: str
    action: str  # the action the service authorizes: its kind comes from ACTION_KINDS
    call: Callable[[Any, ok.Party], Callable[[Session, Any], Any]]


def _t(action: str) -> Callable:
    return lambda w, me: lambda s, p: orders.transition(s, p, "ORD-NOPE", action, idempotency_key=ok.key())


ENTRY_POINTS = [
    EntryPoint("products.create_product", "catalog.manage", lambda w, me: lambda s, p: products.create_product(s, p, {"name": "X", "sku": "X-1", "unit_price": "1.00"})),
    EntryPoint("products.update_product", "catalog.manage", lambda w, me: lambda s, p: products.update_product(s, p, w[me].product, {"name": "Renamed"})),
    EntryPoint("products.archive_product", "catalog.manage", lambda w, me: lambda s, p: products.archive_product(s, p, w[me].product)),
    EntryPoint("product_csv.import_products_csv", "catalog.manage", lambda w, me: lambda s, p: product_csv.import_products_csv(s, p, b"name,sku\nA,B\n")),
    EntryPoint("images.add_image", "catalog.manage", lambda w, me: lambda s, p: images.add_image(s, p, w[me].product, "a.png", PNG)),
    EntryPoint("lot_management.create_lot", "inventory.manage", lambda w, me: lambda s, p: lot_management.create_lot(s, p, product_id=w[me].product, license_id=w[me].party.license.id, package_label="1A4000000000000000009999", quantity_on_hand="1")),
    EntryPoint("lot_management.adjust_lot", "inventory.manage", lambda w, me: lambda s, p: lot_management.adjust_lot(s, p, w[me].lot, delta="-1", reason="damage")),
    EntryPoint("price_tiers.create_tier", "pricing.manage", lambda w, me: lambda s, p: price_tiers.create_tier(s, p, "Gold")),
    EntryPoint("price_tiers.set_tier_price", "pricing.manage", lambda w, me: lambda s, p: price_tiers.set_tier_price(s, p, w[me].tier, w[me].product, "1.00")),
    EntryPoint("price_tiers.delete_tier", "pricing.manage", lambda w, me: lambda s, p: price_tiers.delete_tier(s, p, w[me].tier)),
    EntryPoint("payments.set_buyer_hold", "customer.hold", lambda w, me: lambda s, p: payments.set_buyer_hold(s, p, w["other"][me].party.id, True, "late")),
    EntryPoint("line_edits.edit_lines", "order.edit_lines", lambda w, me: lambda s, p: line_edits.edit_lines(s, p, "ORD-NOPE", [{"line_id": 1, "quantity": "1"}])),
    EntryPoint("orders.transition accept", "order.accept", _t("accept")),
    EntryPoint("orders.transition ship", "order.ship", _t("ship")),
    EntryPoint("cart.add_to_cart", "cart.manage", lambda w, me: lambda s, p: cart.add_to_cart(s, p, w["other"][me].product, "1")),
    EntryPoint("cart.clear_cart", "cart.manage", lambda w, me: lambda s, p: cart.clear_cart(s, p)),
    EntryPoint("checkout_flow.checkout", "order.place", lambda w, me: lambda s, p: checkout_flow.checkout(s, p, buyer_license_id=w[me].party.license.id, idempotency_key=ok.key())),
    EntryPoint("reordering.reorder", "order.place", lambda w, me: lambda s, p: reordering.reorder(s, p, "ORD-NOPE")),
    EntryPoint("orders.transition cancel", "order.cancel", _t("cancel")),
]  # fmt: skip


@dataclass
class Own:
    party: ok.Party
    product: int
    lot: int
    tier: int


@pytest.fixture(scope="module")
def w(engine):
    out: dict[str, Any] = {}
    with Session(engine, expire_on_commit=False) as s:
        parties = {"wholesaler": ok.make_seller(s), "retailer": ok.make_buyer(s)}
        for kind, party in parties.items():
            product, lots = ok.stock(s, party, qty="5")
            product.listing_state = "public"
            s.add(product)
            s.commit()
            tier = PriceTier(seller_entity_id=party.id, name=f"Own {kind}")
            s.add(tier)
            s.commit()
            out[kind] = Own(party, product.id, lots[0].id, tier.id)
    out["other"] = {"wholesaler": out["retailer"], "retailer": out["wholesaler"]}
    return out


def test_every_kind_bound_action_has_an_entry_point_here():
    assert {e.action for e in ENTRY_POINTS} >= {
        "catalog.manage",
        "inventory.manage",
        "pricing.manage",
        "cart.manage",
        "order.place",
        "order.cancel",
    }
    assert all(e.action in ACTION_KINDS for e in ENTRY_POINTS)


def _rows(engine, w) -> dict:
    with Session(engine) as s:
        ids = [w["wholesaler"].party.id, w["retailer"].party.id]
        return {
            **ok.db_state(engine, entity_ids=ids),
            "products": sorted(
                (p.id, p.name, p.listing_state) for p in s.query(Product).filter(Product.entity_id.in_(ids))
            ),
            "tiers": sorted((t.id, t.name) for t in s.query(PriceTier).filter(PriceTier.seller_entity_id.in_(ids))),
        }


@pytest.mark.parametrize(
    ("entry", "kind"),
    list(itertools.product(ENTRY_POINTS, ["wholesaler", "retailer"])),
    ids=lambda v: getattr(v, "name", v),
)
def test_entry_point_by_owner_of_each_kind(engine, w, entry, kind):
    kinds = ACTION_KINDS[entry.action]
    owner = w[kind].party.owner
    fn = entry.call(w, kind)
    if kind in kinds:
        try:
            ok.call(engine, owner, fn)
        except PermissionDenied as err:
            assert str(err) != KIND_DENIED[kinds], f"{entry.name} refused to a {kind}"
        except ServiceError:
            pass  # not found / invalid for the dummy arguments: not a kind refusal
        return
    before = _rows(engine, w)
    with pytest.raises((PermissionDenied, NotFound)) as err:
        ok.call(engine, owner, fn)
    if isinstance(err.value, PermissionDenied) and "ORD-NOPE" not in repr(fn):
        assert str(err.value) in (KIND_DENIED[kinds], "You are not allowed to do that.")
    assert _rows(engine, w) == before


def test_a_retailer_owner_cannot_create_price_tiers(engine, w):
    """The fuzzer's finding, by name."""
    with pytest.raises(PermissionDenied, match="Only wholesalers"):
        ok.call(engine, w["retailer"].party.owner, price_tiers.create_tier, "Canopy tier")
    with pytest.raises(PermissionDenied, match="Only retailers"):
        ok.call(engine, w["wholesaler"].party.owner, cart.add_to_cart, w["retailer"].product, "1")
