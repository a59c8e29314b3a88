"""Every public State event handler is a remote procedure the browser can call with any arguments.

This harness finds every event handler of every page state in `reup_app.state` (so a handler added
later is covered without editing this file), signs in as members of two *attacking* businesses
(a wholesaler and a retailer, owners: the strongest roles), points the tab at URLs carrying the
victims' ids, and calls each handler with the victims' ids in every argument position and inside
form dicts. It proves:

1. nothing of the victim businesses changed (orders, lines, stock, invoices, payments, messages,
   products, members, invitations, licenses, users ...);
2. no browser-bound state (every non-underscore var of the whole state tree, a superset of any
   delta) ever holds a password hash, the tab's own tokens, a TOTP secret, or the victims' data
   (names, e-mails, product names and SKUs, license numbers);
3. no handler crashes on hostile arguments (a crash is a silent failure for the user).
"""

from __future__ import annotations

import importlib
import inspect
import json
import logging
import pkgutil
from decimal import Decimal

import pytest
import reflex as rx
from sqlalchemy import select
from sqlmodel import Session

import reup_app.state as state_pkg
from reup_app.models import (
    Entity,
    IntegrationConnection,
    License,
    Membership,
    NotificationPreference,
    OneTimeToken,
    PriceTier,
    PriceTierPrice,
    Product,
    User,
)
from reup_app.security import mfa
from reup_app.security.crypto import CryptoError
from reup_app.services.billing import payments
from reup_app.services.identity import team
from reup_app.services.integrations import connections
from reup_app.services.ordering import messages
from reup_app.state import arg_guard
from reup_app.state.auth import AuthState
from reup_app.state.base import AppState
from tests.integration import orderkit as ok
from tests.integration.statekit import Tab, run

# Handlers that only end the caller's own session are re-signed in after; Reflex internals skipped.
VICTIM_METRC_KEY = "victim-metrc-user-key-0123456789"
SKIP = {"setvar", "set_is_hydrated", "hydrate", "on_load_internal", "update_vars_internal", "set_base_state"}


def _state_classes() -> list[type[rx.State]]:
    for mod in pkgutil.walk_packages(state_pkg.__path__, "reup_app.state."):
        importlib.import_module(mod.name)
    out, todo = set(), list(rx.State.__subclasses__())
    while todo:
        cls = todo.pop()
        todo.extend(cls.__subclasses__())
        if cls.__module__.startswith("reup_app.state"):
            out.add(cls)
    return sorted(out, key=lambda c: c.get_full_name())


def _handlers() -> list[tuple[type, str]]:
    found = []
    for cls in _state_classes():
        for name, handler in cls.event_handlers.items():
            if name in SKIP or name.startswith("_") or getattr(handler, "is_background", False):
                continue
            found.append((cls, name))
    return found


def _victim_rows(engine, entity_ids: list[int], user_ids: list[int]) -> dict:
    """`orderkit.db_state` (orders, stock, money) plus identity and catalog rows of the victims."""
    snap = ok.db_state(engine, entity_ids=entity_ids)
    with Session(engine) as s:

        def rows(model, cond, cols):
            return [
                tuple(r)
                for r in s.execute(select(*[getattr(model, c) for c in cols]).where(cond).order_by(model.id)).all()
            ]

        tier_ids = select(PriceTier.id).where(PriceTier.seller_entity_id.in_(entity_ids))
        snap.update(
            {
                "entities": rows(
                    Entity, Entity.id.in_(entity_ids), ("id", "name", "status", "require_mfa", "updated_at")
                ),
                "users": rows(
                    User,
                    User.id.in_(user_ids),
                    ("id", "email", "full_name", "password_hash", "is_active", "token_version", "mfa_enabled", "phone"),
                ),
                "memberships": rows(Membership, Membership.entity_id.in_(entity_ids), ("id", "user_id", "role")),
                "licenses": rows(License, License.entity_id.in_(entity_ids), ("id", "number", "status", "updated_at")),
                "invites": rows(OneTimeToken, OneTimeToken.entity_id.in_(entity_ids), ("id", "used_at", "expires_at")),
                "products": rows(
                    Product,
                    Product.entity_id.in_(entity_ids),
                    ("id", "name", "sku", "listing_state", "unit_price", "available_qty", "updated_at"),
                ),
                "tiers": rows(PriceTier, PriceTier.seller_entity_id.in_(entity_ids), ("id", "name")),
                "tier_prices": rows(PriceTierPrice, PriceTierPrice.price_tier_id.in_(tier_ids), ("id", "unit_price")),
                "integration_connections": rows(
                    IntegrationConnection,
                    IntegrationConnection.entity_id.in_(entity_ids),
                    ("id", "enabled", "status", "base_url", "credentials_encrypted", "updated_at"),
                ),
                "notification_prefs": rows(
                    NotificationPreference,
                    NotificationPreference.user_id.in_(user_ids),
                    ("id", "kind", "in_app", "email"),
                ),
            }
        )
    return snap


@pytest.fixture(scope="module")
def world(engine):
    """Victims: a wholesaler and a retailer trading with each other (orders in several states, an
    invoice with a payment, messages, a price tier, an open invitation). Attackers: an unrelated
    wholesaler and retailer. The victims' products are then unlisted, so no legitimate purchase by
    an attacker can touch them."""
    with Session(engine, expire_on_commit=False) as s:
        seller, buyer = ok.make_seller(s), ok.make_buyer(s)
        products = [ok.stock(s, seller, qty="50", price="12.50")[0] for _ in range(2)]
        ok.make_tier(s, seller, buyer, {products[0].id: "11.00"})
        attackers = {"wholesaler": ok.make_seller(s), "retailer": ok.make_buyer(s)}
    submitted = ok.place_one(engine, buyer, products[0], "2")
    accepted = ok.place_one(engine, buyer, products[1], "1")
    ok.advance(engine, seller, accepted, "accept")
    shipped = ok.place_one(engine, buyer, products[0], "1")
    ok.advance(engine, seller, shipped, "accept", "fulfill", "ship")
    ok.call(engine, buyer.p["buyer"], messages.post_message, submitted, "Victim message: deliver before noon")
    with Session(engine, expire_on_commit=False) as s:
        invoice = (
            s.execute(
                select(ok.Invoice).join(ok.Order, ok.Order.id == ok.Invoice.order_id).where(ok.Order.number == shipped)
            )
            .scalars()
            .one()
        )
    ok.call(engine, seller.owner, payments.record_payment, invoice.number, Decimal("1.00"), "cash")
    invite = ok.call(engine, seller.owner, team.invite_member, seller.id, "future-hire@example.test", "sales")
    ok.call(engine, buyer.p["buyer"], ok.cart.add_to_cart, products[1].id, "1")
    ok.call(engine, seller.owner, connections.connect_license, seller.license.id, VICTIM_METRC_KEY)
    with Session(engine, expire_on_commit=False) as s:
        for p in products:
            row = s.get(Product, p.id)
            row.listing_state = "internal"
            s.add(row)
        s.commit()
        victim_users = list(
            s.execute(select(Membership.user_id).where(Membership.entity_id.in_([seller.id, buyer.id]))).scalars()
        )
        users = s.execute(select(User).where(User.id.in_(victim_users))).scalars().all()
        cart_item = s.execute(select(ok.CartItem.id).where(ok.CartItem.buyer_entity_id == buyer.id)).scalars().first()
        lot_id = (
            s.execute(select(ok.InventoryLot.id).where(ok.InventoryLot.product_id == products[0].id)).scalars().first()
        )
        membership = s.execute(select(Membership.id).where(Membership.entity_id == seller.id)).scalars().first()
        tier_id = s.execute(select(PriceTier.id).where(PriceTier.seller_entity_id == seller.id)).scalars().first()
        all_hashes = list(s.execute(select(User.password_hash)).scalars())
        secret_rows = s.execute(
            select(User.id, User.mfa_secret_encrypted).where(User.mfa_secret_encrypted.is_not(None))
        ).all()
    ids = {
        "order": [submitted, accepted, shipped],
        "invoice": [invoice.number],
        "int": [
            products[0].id,
            products[1].id,
            lot_id,
            membership,
            invite.id,
            cart_item,
            tier_id,
            seller.id,
            buyer.id,
            seller.license.id,
            buyer.license.id,
            invoice.id,
        ],
    }
    forbidden = {
        seller.entity.name,
        buyer.entity.name,
        seller.license.number,
        buyer.license.number,
        *[u.email for u in users],
        *[u.full_name for u in users],
        *[p.name for p in products],
        *[p.sku for p in products],
        *all_hashes,
        "Victim message: deliver before noon",
        VICTIM_METRC_KEY,
    }
    for uid, enc in secret_rows:
        forbidden.add(enc)
        try:
            forbidden.add(mfa.decrypt_secret(uid, enc))
        except CryptoError:  # rows other tests encrypted with a key no longer configured
            pass
    return {
        "victims": [seller.id, buyer.id],
        "victim_users": victim_users,
        "ids": ids,
        "attackers": attackers,
        "forbidden": forbidden,
    }


def _arguments(world) -> list:
    ids = world["ids"]
    values = [*ids["order"], *ids["invoice"], *ids["int"], *[str(i) for i in ids["int"]]]
    form = {
        k: str(ids["int"][0])
        for k in (
            "id",
            "product_id",
            "lot_id",
            "entity_id",
            "buyer_entity_id",
            "customer_id",
            "seller_id",
            "membership_id",
            "invite_id",
            "cart_item_id",
            "tier_id",
            "license_id",
            "buyer_license_id",
            "image_id",
            "item_id",
        )
    }
    form.update(
        {
            "order_number": ids["order"][0],
            "number": ids["order"][0],
            "invoice_number": ids["invoice"][0],
            "quantity": "1",
            "qty": "1",
            "amount": "1.00",
            "method": "cash",
            "reason": "harness",
            "body": "harness",
            "message": "harness",
            "email": "harness@example.test",
            "role": "owner",
            "on_hold": "true",
            "code": "000000",
            "status": "accepted",
        }
    )
    forms = [form]
    for key in (
        "membership_id",
        "entity_id",
        "product_id",
        "lot_id",
        "cart_item_id",
        "invite_id",
        "tier_id",
        "buyer_entity_id",
        "id",
    ):
        for i in ids["int"]:
            forms.append({**form, key: str(i)})
    return values + forms


def _paths(world) -> list[str]:
    """Pages showing the victims' rows: route arguments are as hostile as event arguments."""
    ids = world["ids"]
    return [
        f"/orders/{ids['order'][0]}",
        f"/orders/{ids['order'][2]}",
        f"/products/{ids['int'][0]}",
        f"/invoices/{ids['invoice'][0]}",
        f"/seller/products/{ids['int'][0]}",
        "/invite/x",
        "/reset-password/x",
    ]


def _calls(handler_fn, args: list) -> list[tuple]:
    params = [
        p
        for p in list(inspect.signature(handler_fn).parameters.values())[1:]
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if not params:
        return [()]
    calls = [tuple([v] * len(params)) for v in args]
    if len(params) > 1:
        for i in range(len(params)):
            calls += [tuple(v if j == i else "1" for j in range(len(params))) for v in args[:20]]
    return calls


def _sign_in(tab: Tab, email: str) -> None:
    tab.sign_in(email)


def ids_first(world) -> str:
    return world["ids"]["order"][0]


class _GuardErrors(logging.Handler):
    """Collects the ERROR lines the argument guard writes for an exception a handler let escape."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage() + (f" ({record.exc_info[1]!r})" if record.exc_info else ""))


@pytest.fixture
def guard_errors():
    handler = _GuardErrors()
    logger = logging.getLogger(arg_guard.__name__)
    logger.addHandler(handler)
    try:
        yield handler.lines
    finally:
        logger.removeHandler(handler)


@pytest.mark.parametrize("attacker_kind", ["wholesaler", "retailer"])
def test_foreign_ids_change_nothing_and_leak_nothing(engine, world, attacker_kind, guard_errors):
    attacker = world["attackers"][attacker_kind]
    with Session(engine) as s:
        email = s.get(User, attacker.owner.user_id).email
    before = _victim_rows(engine, world["victims"], world["victim_users"])
    args = _arguments(world)
    crashes, leaks, tried = [], [], 0
    handlers = _handlers()  # imports every state module before the tab's state tree is built
    paths = _paths(world)
    tab = Tab().at(paths[0])
    _sign_in(tab, email)
    for cls, name in handlers:
        fn = cls.event_handlers[name].fn
        calls = _calls(fn, args)
        plan = [(path, ()) for path in paths] if calls == [()] else [(paths[0], c) for c in calls]
        for path, call_args in plan:
            tab.at(path, {"entity_id": str(world["victims"][0]), "order": ids_first(world)})
            auth = tab.state(AuthState)
            if not auth.signed_in:
                _sign_in(tab, email)
            target = tab.state(cls)
            tried += 1
            try:
                run(fn(target, *call_args))
            except Exception as exc:
                crashes.append(f"{cls.__name__}.{name}{call_args!r:.80}: {type(exc).__name__}: {exc}")
                continue
            sent = json.dumps(tab.root.dict(), default=str)
            own = [t for t in (auth._access_token, auth._refresh_token) if t]
            found = [f for f in (*world["forbidden"], *own) if f and f in sent]
            if found:
                leaks.append(f"{cls.__name__}.{name}{call_args!r:.80} exposed {found[0]!r:.60}")
    after = _victim_rows(engine, world["victims"], world["victim_users"])
    changed = {k: (before[k], after[k]) for k in before if before[k] != after[k]}
    assert tried > 200, f"only {tried} calls: handler discovery is broken"
    assert not changed, f"victims' data changed: {changed}"
    assert not leaks, "\n".join(leaks[:20])
    assert not crashes, f"{len(crashes)} crashes:\n" + "\n".join(crashes[:30])
    assert not guard_errors, f"{len(guard_errors)} unhandled exceptions:\n" + "\n".join(guard_errors[:30])


def test_discovery_sees_the_handlers_of_every_page_state():
    names = {f"{cls.__name__}.{name}" for cls, name in _handlers()}
    for expected in (
        "AuthState.login",
        "TeamState.remove",
        "AdminBusinessesState.approve",
        "SettingsState.change_password",
        "AuditState.apply_filters",
        "SignupState.submit",
    ):
        assert expected in names


def test_argument_guard_refuses_wrong_types_before_the_handler_runs():
    from reup_app.state.admin import AdminBusinessesState
    from reup_app.state.arg_guard import MALFORMED

    tab = Tab()
    state = tab.state(AdminBusinessesState)
    result = run(state.show({"status": "pending"}))  # a dict where the page sends a string
    assert MALFORMED in str(result) and state.status == "pending" and state.error == ""
    result = run(state.show("bogus"))  # right type, wrong value: the handler's own message
    assert state.error == "Unknown status."


def _payload_variants(fn) -> list[tuple[str, tuple, dict]]:
    """Hostile shapes for one handler: (label, args, kwargs); every one must be refused."""
    params = list(inspect.signature(fn).parameters.values())[1:]
    named = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    required = [p for p in named if p.default is p.empty]
    takes_kwargs = any(p.kind is p.VAR_KEYWORD for p in params)
    out: list[tuple[str, tuple, dict]] = []
    if required:
        out.append(("missing", (), {}))
    if not takes_kwargs:
        out.append(("unknown kwarg", (), {"bogus": "1"}))
        out.append(("self kwarg", (), {"self": None}))
    if not any(p.kind is p.VAR_POSITIONAL for p in params):
        out.append(("extra positional", ("1",) * (len(named) + 1), {}))
    return out


def _none_and_malformed(cls, name, fn) -> list[tuple[str, dict, bool]]:
    """(label, payload as the browser sends it, must_refuse) through Reflex's own payload preparation."""
    from reflex_base.event.processor import base_state_processor as bsp

    handler = cls.event_handlers[name]
    params = [
        p
        for p in list(inspect.signature(fn).parameters.values())[1:]
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    out = []
    for bad in ({"__reflex_form_data__": [["only-a-name"], 7]}, {"__reflex_form_data__": "x"}):
        for p in params:
            payload = {q.name: "1" for q in params} | {p.name: bad}
            out.append((f"malformed form in {p.name}", bsp._prepare_event_payload(handler, payload), True))
    if params:
        out.append(("all None", bsp._prepare_event_payload(handler, {p.name: None for p in params}), False))
        out.append(("non-file list", bsp._prepare_event_payload(handler, {p.name: ["x"] for p in params}), False))
    return out


def test_every_handler_survives_missing_extra_none_and_malformed_payloads(engine, world, guard_errors):
    """The fuzzer's 428 crashes, by shape: wrong arity, unknown keyword arguments (`self=None` too),
    malformed `__reflex_form_data__`, None and non-files for every argument. Each call must finish
    (no exception out of the handler, none caught by the guard as a bug), and every shape that does
    not bind to the handler's signature must be refused with the guard's toast, so nothing ran."""
    attacker = world["attackers"]["wholesaler"]
    with Session(engine) as s:
        email = s.get(User, attacker.owner.user_id).email
    before = _victim_rows(engine, world["victims"], world["victim_users"])
    tab = Tab().at("/dashboard")
    _sign_in(tab, email)
    crashes, not_refused, tried = [], [], 0
    for cls, name in _handlers():
        fn = cls.event_handlers[name].fn
        calls = [(label, args, kw, True) for label, args, kw in _payload_variants(fn)]
        calls += [(label, (), kw, refuse) for label, kw, refuse in _none_and_malformed(cls, name, fn)]
        for label, args, kw, must_refuse in calls:
            if not tab.state(AuthState).signed_in:
                _sign_in(tab, email)
            tried += 1
            try:
                result = run(fn(tab.state(cls), *args, **kw))
            except Exception as exc:
                crashes.append(f"{cls.__name__}.{name} [{label}]: {type(exc).__name__}: {exc}")
                continue
            if must_refuse and arg_guard.MALFORMED not in str(result):
                not_refused.append(f"{cls.__name__}.{name} [{label}] -> {result!r:.100}")
    after = _victim_rows(engine, world["victims"], world["victim_users"])
    assert tried > 400, f"only {tried} calls: handler discovery is broken"
    assert not crashes, f"{len(crashes)} crashes:\n" + "\n".join(crashes[:30])
    assert not guard_errors, f"{len(guard_errors)} unhandled exceptions:\n" + "\n".join(guard_errors[:30])
    assert not not_refused, f"{len(not_refused)} not refused:\n" + "\n".join(not_refused[:30])
    assert before == after


def test_a_service_error_escaping_a_handler_becomes_its_own_toast():
    """`AdminBusinessesState.show` as a non-admin raised PermissionDenied into Reflex's generic error."""
    from reup_app.errors import PermissionDenied

    class Boom(AppState):
        async def act(self, value: str):
            raise PermissionDenied("You are not allowed to do that.")

        async def bug(self):
            raise RuntimeError("internal detail")

    tab = Tab()
    assert "You are not allowed to do that." in str(run(Boom.act.fn(tab.state(Boom), "x")))
    out = str(run(Boom.bug.fn(tab.state(Boom))))
    assert arg_guard.FAILED in out and "internal detail" not in out
