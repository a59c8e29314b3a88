"""Pre-ship compliance checks on MySQL: each failing check blocks the ship with its own message
(nothing moves: status, stock, invoice, manifest), the pass case ships, the checklist reaches the
seller's fulfill-and-ship screen, and only the seller may read it."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from reup_app.errors import NotFound, PermissionDenied
from reup_app.models import ComplianceManifest, InventoryLot, Invoice, License, OrderLineAllocation
from reup_app.services.compliance import preship
from reup_app.services.compliance.license_calendar import license_today
from reup_app.services.compliance.license_types import canonical_type, trade_refusal
from reup_app.services.ordering import orders
from reup_app.state.order_detail import OrderDetailState
from tests.factories import make_lot
from tests.integration.orderkit import (
    advance,
    call,
    fresh,
    key,
    lot_row,
    make_buyer,
    make_seller,
    order_row,
    place_one,
    stock,
)
from tests.integration.statekit import Tab, email_of, run

D = Decimal


@pytest.fixture
def fulfilled(session, engine):
    """(seller, buyer, order number, lot) of an order fulfilled from one package of 10."""
    seller, buyer = make_seller(session), make_buyer(session)
    product, (lot,) = stock(session, seller, qty="10")
    number = place_one(engine, buyer, product, "3")
    advance(engine, seller, number, "accept", "fulfill")
    return seller, buyer, number, lot


def _set(engine, model, row_id, **values):
    with fresh(engine) as s:
        s.execute(update(model).where(model.id == row_id).values(**values))
        s.commit()


def _ship(engine, seller, number):
    return call(engine, seller.p["fulfillment"], orders.transition, number, "ship", idempotency_key=key())


def _report(engine, principal, number):
    return call(engine, principal, preship.preship_report, number)


def _assert_blocked(engine, seller, number, lot, *messages):
    """Ship is refused with every message; nothing about the order or its stock moved."""
    with pytest.raises(preship.PreshipFailed) as err:
        _ship(engine, seller, number)
    for message in messages:
        assert message in str(err.value), str(err.value)
    assert [c.message for c in err.value.report.failures] == list(messages)
    assert order_row(engine, number).status == "fulfilled"
    assert lot_row(engine, lot.id).quantity_reserved == D("3")
    with fresh(engine) as s:
        order_id = order_row(engine, number).id
        assert s.execute(select(Invoice).where(Invoice.order_id == order_id)).first() is None
        assert s.execute(select(ComplianceManifest).where(ComplianceManifest.order_id == order_id)).first() is None


def test_all_checks_pass_and_the_order_ships(engine, fulfilled):
    seller, _buyer, number, lot = fulfilled
    report = _report(engine, seller.p["sales"], number)
    assert report.ok and report.failures == []
    assert {c.code for c in report.checks} == {
        "licenses",
        "license_types",
        "allocation",
        "label",
        "package_license",
        "hold",
        "lab",
        "on_hand",
    }
    assert f"Package {lot.package_label}: 3 on hand" in [c.label for c in report.checks]
    assert _ship(engine, seller, number).status == "shipped"
    assert lot_row(engine, lot.id).quantity_on_hand == D("7")


@pytest.mark.parametrize(
    ("side", "values", "message"),
    [
        ("seller", {"status": "suspended"}, "Seller license {n} is suspended, not active."),
        ("buyer", {"status": "expired"}, "Buyer license {n} is expired, not active."),
        ("buyer", {"expires_on": "YESTERDAY"}, "Buyer license {n} expired on {d} (CA date {t})."),
    ],
)
def test_inactive_or_expired_license_blocks(engine, fulfilled, side, values, message):
    seller, buyer, number, lot = fulfilled
    lic = (seller if side == "seller" else buyer).license
    today = license_today("CA")
    if values.get("expires_on") == "YESTERDAY":
        values = {"expires_on": today - timedelta(days=1)}
    _set(engine, License, lic.id, **values)
    expected = message.format(n=lic.number, d=(today - timedelta(days=1)).isoformat(), t=today.isoformat())
    _assert_blocked(engine, seller, number, lot, expected)


def test_license_valid_through_its_expiry_day_in_its_own_state(engine, fulfilled):
    """05:00 UTC on Nov 28 is still Nov 27 in California: a license expiring Nov 27 is good."""
    seller, buyer, number, _lot = fulfilled
    _set(engine, License, buyer.license.id, expires_on=date(2026, 11, 27))
    with fresh(engine) as s:
        order = orders.load_order(s, seller.owner, number)[0]
        late_evening = preship.check_order(s, order, now=datetime(2026, 11, 28, 5, 0, tzinfo=UTC))
        next_morning = preship.check_order(s, order, now=datetime(2026, 11, 28, 9, 0, tzinfo=UTC))
    assert late_evening.ok
    assert [c.message for c in next_morning.failures] == [
        f"Buyer license {buyer.license.number} expired on 2026-11-27 (CA date 2026-11-28)."
    ]
    assert license_today("CA", datetime(2026, 11, 28, 5, 0, tzinfo=UTC)) == date(2026, 11, 27)
    assert license_today("NY", datetime(2026, 11, 28, 5, 0, tzinfo=UTC)) == date(2026, 11, 28)
    with pytest.raises(ValueError):
        license_today("CA", datetime(2026, 11, 28, 5, 0))


@pytest.mark.parametrize(
    ("seller_type", "buyer_type", "message"),
    [
        ("adult_use_retail", "adult_use_retail", "A retail license can't sell wholesale."),
        (
            "manufacturer",
            "adult_use_retail",
            "In CA a manufacturer license can't sell to a retail license; ship through a distributor.",
        ),
        (
            "distributor",
            "hemp shop",
            "The buyer's license type 'hemp shop' is not one ReUp can check; ask support to review it.",
        ),
        (
            "Distributor Transport Only",
            "adult_use_retail",
            "A distributor transport only license can't sell wholesale.",
        ),
    ],
)
def test_license_types_that_may_not_trade_block(engine, fulfilled, seller_type, buyer_type, message):
    seller, buyer, number, lot = fulfilled
    _set(engine, License, seller.license.id, license_type=seller_type)
    _set(engine, License, buyer.license.id, license_type=buyer_type)
    _assert_blocked(engine, seller, number, lot, message)


def test_licenses_in_different_states_block(engine, fulfilled):
    seller, buyer, number, lot = fulfilled
    _set(engine, License, buyer.license.id, state="NV")
    _assert_blocked(
        engine,
        seller,
        number,
        lot,
        f"Seller license {seller.license.number} is in CA and buyer license {buyer.license.number} in NV; "
        "cannabis can't cross state lines.",
    )


def test_trade_table():
    assert canonical_type("Adult-Use Retail") == "retail" and canonical_type("medicinal_distributor") == "distributor"
    assert canonical_type("dispensary") == "retail" and canonical_type("astronaut") is None
    for buyer in ("distributor", "microbusiness", "adult_use_retail", "medicinal_retail", "manufacturer"):
        assert trade_refusal("CA", "distributor", buyer) is None
    assert trade_refusal("CA", "manufacturer", "distributor") is None
    assert trade_refusal("CA", "cultivator", "manufacturer") is None
    assert trade_refusal("CA", "microbusiness", "adult_use_retail") is None
    assert trade_refusal("CA", "cultivator", "retailer") is not None
    assert (
        trade_refusal("CA", "testing_laboratory", "distributor") == "A testing laboratory license can't sell wholesale."
    )
    # Outside California there is no mandatory distribution tier (see license_types).
    assert trade_refusal("MI", "processor", "provisioning_center") is None
    assert trade_refusal("MI", "retailer", "retailer") == "A retail license can't sell wholesale."


def test_package_on_hold_blocks(engine, fulfilled):
    seller, _buyer, number, lot = fulfilled
    _set(engine, InventoryLot, lot.id, on_hold=True)
    _assert_blocked(
        engine, seller, number, lot, f"Package {lot.package_label} is on hold in METRC and can't be shipped."
    )


@pytest.mark.parametrize(
    ("state", "message"),
    [
        ("failed", "Package {l} failed its lab test and can't be shipped."),
        ("submitted", "Package {l} is still waiting for its lab results."),
        ("not_submitted", "Package {l} has no passing lab test (not_submitted); it needs one before it can ship."),
    ],
)
def test_lab_state_not_passed_blocks(engine, fulfilled, state, message):
    seller, _buyer, number, lot = fulfilled
    _set(engine, InventoryLot, lot.id, lab_test_state=state)
    _assert_blocked(engine, seller, number, lot, message.format(l=lot.package_label))


def test_lab_test_not_required_ships(engine, fulfilled):
    seller, _buyer, number, lot = fulfilled
    _set(engine, InventoryLot, lot.id, lab_test_state="not_required")
    assert _report(engine, seller.owner, number).ok
    assert _ship(engine, seller, number).status == "shipped"


def test_not_enough_on_hand_blocks(engine, fulfilled):
    """METRC says the package holds less than the order ships (e.g. a sync lowered it)."""
    seller, _buyer, number, lot = fulfilled
    _set(engine, InventoryLot, lot.id, quantity_on_hand=D("2"), quantity_available=D("0"))
    _assert_blocked(engine, seller, number, lot, f"Package {lot.package_label} has 2 on hand but ships 3.")


def test_expired_package_blocks(engine, fulfilled):
    seller, _buyer, number, lot = fulfilled
    yesterday = license_today("CA") - timedelta(days=1)
    _set(engine, InventoryLot, lot.id, expires_on=yesterday)
    _assert_blocked(engine, seller, number, lot, f"Package {lot.package_label} expired on {yesterday.isoformat()}.")


_LENGTH = "Package label '{}' has {} characters; a METRC tag has 24."
_CHARS = "Package label '{}' may contain only capital letters and digits."


# Labels are globally unique (and MySQL compares them case-insensitively), so each bad label is
# derived from the test's own lot label rather than fixed.
@pytest.mark.parametrize(
    ("make_label", "message"),
    [
        (lambda good: good[-9:], _LENGTH),
        (lambda good: good.lower(), _CHARS),
        (lambda good: (good[:4] + "-" + good[5:])[:23], _LENGTH),
        (lambda good: good[:4] + "-" + good[5:], _CHARS),
    ],
    ids=["short", "lowercase", "dash-23", "dash-24"],
)
def test_invalid_package_label_blocks(engine, fulfilled, make_label, message):
    seller, _buyer, number, lot = fulfilled
    label = make_label(lot.package_label)
    _set(engine, InventoryLot, lot.id, package_label=label)
    with fresh(engine) as s:
        s.execute(
            update(OrderLineAllocation)
            .where(OrderLineAllocation.inventory_lot_id == lot.id)
            .values(package_label=label)
        )
        s.commit()
    lot.package_label = label
    expected = message.format(label, len(label)) if message is _LENGTH else message.format(label)
    _assert_blocked(engine, seller, number, lot, expected)


def test_package_under_another_license_blocks(session, engine, fulfilled):
    seller, _buyer, number, lot = fulfilled
    from tests.factories import make_license

    other = make_license(session, seller.entity)
    _set(engine, InventoryLot, lot.id, license_id=other.id)
    _assert_blocked(
        engine,
        seller,
        number,
        lot,
        f"Package {lot.package_label} is held under another license, not the one this order ships from.",
    )


def test_several_failures_are_all_reported(engine, fulfilled):
    seller, buyer, number, lot = fulfilled
    _set(engine, License, buyer.license.id, status="suspended")
    _set(engine, InventoryLot, lot.id, on_hold=True, lab_test_state="failed")
    _assert_blocked(
        engine,
        seller,
        number,
        lot,
        f"Buyer license {buyer.license.number} is suspended, not active.",
        f"Package {lot.package_label} is on hold in METRC and can't be shipped.",
        f"Package {lot.package_label} failed its lab test and can't be shipped.",
    )


def test_on_hold_packages_are_not_picked_at_fulfillment(session, engine):
    seller, buyer = make_seller(session), make_buyer(session)
    product, (held,) = stock(session, seller, qty="10")
    free = make_lot(session, product, seller.license, D("10"))
    _set(engine, InventoryLot, held.id, on_hold=True)
    number = place_one(engine, buyer, product, "4")
    advance(engine, seller, number, "accept", "fulfill")
    with fresh(engine) as s:
        picked = s.execute(select(OrderLineAllocation.inventory_lot_id)).scalars().all()
    assert held.id not in picked and free.id in picked
    assert _ship(engine, seller, number).status == "shipped"


def test_only_the_seller_reads_the_checklist(session, engine, fulfilled):
    _seller, buyer, number, _lot = fulfilled
    with pytest.raises(PermissionDenied, match="Only the seller runs the pre-ship checks."):
        _report(engine, buyer.owner, number)
    with pytest.raises(NotFound):
        _report(engine, make_seller(session).owner, number)


def test_ship_screen_shows_the_checklist_and_the_refusal(session, engine, fulfilled):
    seller, buyer, number, lot = fulfilled
    _set(engine, InventoryLot, lot.id, on_hold=True)
    page = Tab().sign_in(email_of(session, seller.p["fulfillment"])).at(f"/orders/{number}").state(OrderDetailState)
    run(page.load())
    assert page.actions == ["ship"] and page.preship_blocked
    failed = [c for c in page.preship_checks if c["ok"] == "no"]
    assert failed == [
        {
            "label": f"Package {lot.package_label}: not on hold",
            "ok": "no",
            "message": f"Package {lot.package_label} is on hold in METRC and can't be shipped.",
        }
    ]
    run(page.act("ship"))
    assert page.error == (
        f"Order {number} can't ship yet: Package {lot.package_label} is on hold in METRC and can't be shipped."
    )
    assert page.order["status"] == "fulfilled"

    _set(engine, InventoryLot, lot.id, on_hold=False)
    run(page.load())
    assert not page.preship_blocked and all(c["ok"] == "yes" for c in page.preship_checks)
    run(page.act("ship"))
    assert page.error == "" and page.order["status"] == "shipped" and page.preship_checks == []

    buyer_page = Tab().sign_in(email_of(session, buyer.owner)).at(f"/orders/{number}").state(OrderDetailState)
    run(buyer_page.load())
    assert buyer_page.preship_checks == [] and buyer_page.manifest["status"] == "not_connected"
