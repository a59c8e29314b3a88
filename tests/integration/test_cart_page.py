"""CartState on MySQL: sign-in gate, grouping, edits, minimums, holds, choices and checkout."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import select

from reup_app.models import CartItem, Order, TradeRelationship
from reup_app.services.ordering import cart
from reup_app.state.cart import CartState
from tests.integration.orderkit import call, fresh, make_buyer, make_seller, stock
from tests.integration.statekit import Tab, email_of, event_arg, run

D = Decimal


def _orders_of(engine, buyer_id: int) -> list[Order]:
    with fresh(engine) as s:
        return list(s.execute(select(Order).where(Order.buyer_entity_id == buyer_id).order_by(Order.id)).scalars())


def test_signed_out_visitor_is_sent_to_login(session):
    from reup_app.state.auth import AuthState

    tab = Tab().at("/cart")
    page = tab.state(CartState)
    events = run(page.load())  # first the tab tries to restore a session from the cookie
    assert "/api/auth/restore" in str(events) and page.groups == []
    assert event_arg(run(tab.state(AuthState).finish_restore_required("")), "path") == "/login?next=/cart"


def test_wholesaler_member_is_not_allowed_in_the_cart(session):
    seller = make_seller(session)
    page = Tab().sign_in(email_of(session, seller.owner)).at("/cart").state(CartState)
    assert event_arg(run(page.load()), "path") == "/not-allowed"


def test_cart_groups_per_seller_and_checkout_is_idempotent(session, engine):
    pb = make_seller(session, terms="cod,net_30", min_order_amount="50")
    ec = make_seller(session, terms="prepay,net_15", min_order_amount="0")
    buyer = make_buyer(session)
    p1, _ = stock(session, pb, price="10.00")
    p2, _ = stock(session, ec, price="4.00")
    who = buyer.p["buyer"]
    call(engine, who, cart.add_to_cart, p1.id, "2")
    call(engine, who, cart.add_to_cart, p2.id, "3")
    tab = Tab().sign_in(email_of(session, who)).at("/cart")
    page = tab.state(CartState)
    run(page.load())

    assert sorted(g.seller_name for g in page.groups) == sorted([pb.entity.name, ec.entity.name])
    by = {g.seller_id: g for g in page.groups}
    assert "minimum order of $50.00" in by[str(pb.id)].minimum_message and not by[str(pb.id)].ready
    assert by[str(ec.id)].ready and [o.value for o in by[str(ec.id)].terms_offered] == ["prepay", "net_15"]
    assert page.licenses[0].value == str(buyer.license.id)

    # Raising the quantity meets the minimum; a bad quantity is refused with the service's message.
    item = by[str(pb.id)].lines[0].item_id
    run(page.update_quantity(item, "abc"))
    assert "not a valid quantity" in page.error
    run(page.update_quantity(item, "6"))
    assert page.error == "" and all(g.ready for g in page.groups)

    page.set_choice(str(ec.id), "terms", "net_15")
    page.set_choice(str(ec.id), "notes", "Back door please")
    page.set_choice(str(ec.id), "bogus", "x")
    assert page.error == "Invalid checkout choice."
    page.set_choice("424242", "notes", "x")
    assert page.error == "That seller is no longer in your cart." and "424242" not in page._choices
    page.set_choice(str(pb.id), "date", "2099-02-30")
    run(page.place_orders())
    assert page.error == "2099-02-30 is not a valid date." and _orders_of(engine, buyer.id) == []
    page.set_choice(str(pb.id), "date", "2099-03-01")

    key = page.checkout_key
    run(page.place_orders())
    placed = _orders_of(engine, buyer.id)
    assert len(placed) == 2, page.error
    # The buyer stays on the cart and sees the confirmation with a link per order.
    assert sorted(p.number for p in page.placed) == sorted(o.number for o in placed)
    terms = {o.seller_entity_id: o.payment_terms for o in placed}
    assert terms == {pb.id: "cod", ec.id: "net_15"}
    assert next(o for o in placed if o.seller_entity_id == ec.id).notes == "Back door please"
    assert next(o for o in placed if o.seller_entity_id == pb.id).requested_delivery_start.year == 2099

    # The same cart view submitting again (a double click) places nothing new.
    page.checkout_key = key
    run(page.place_orders())
    assert len(_orders_of(engine, buyer.id)) == 2


def test_hold_is_shown_and_only_ready_sellers_are_ordered(session, engine):
    held = make_seller(session)
    ok = make_seller(session)
    buyer = make_buyer(session)
    p1, _ = stock(session, held)
    p2, _ = stock(session, ok)
    session.add(
        TradeRelationship(seller_entity_id=held.id, buyer_entity_id=buyer.id, on_hold=True, hold_reason="Overdue")
    )
    session.commit()
    who = buyer.p["owner"]
    call(engine, who, cart.add_to_cart, p1.id, "1")
    call(engine, who, cart.add_to_cart, p2.id, "1")
    page = Tab().sign_in(email_of(session, who)).at("/cart").state(CartState)
    run(page.load())
    hold = next(g for g in page.groups if g.seller_id == str(held.id))
    assert hold.hold_message == f"Pay your prior balance to {held.entity.name} before placing new orders."
    assert page.ready_count == 1

    run(page.place_orders())
    placed = _orders_of(engine, buyer.id)
    assert [o.seller_entity_id for o in placed] == [ok.id]
    with fresh(engine) as s:  # the held seller's item stays in the cart
        left = s.execute(select(CartItem.product_id).where(CartItem.user_id == who.user_id)).scalars().all()
    assert left == [p1.id]


def test_remove_and_viewer_refusal(session, engine):
    seller, buyer = make_seller(session), make_buyer(session)
    product, _ = stock(session, seller)
    call(engine, buyer.p["buyer"], cart.add_to_cart, product.id, "1")
    page = Tab().sign_in(email_of(session, buyer.p["buyer"])).at("/cart").state(CartState)
    run(page.load())
    run(page.remove_item("not-a-number"))
    assert page.error == "That item is no longer in your cart."
    run(page.remove_item(page.groups[0].lines[0].item_id))
    assert page.groups == [] and page.message == "Removed from your cart."
    run(page.place_orders())
    assert "Nothing in your cart" in page.error

    viewer = Tab().sign_in(email_of(session, buyer.p["viewer"])).at("/cart").state(CartState)
    assert event_arg(run(viewer.load()), "path") == "/not-allowed"  # viewers cannot order


def test_a_checkout_whose_answer_was_lost_is_confirmed_by_the_next_cart_load(session, engine):
    seller, buyer = make_seller(session, terms="cod"), make_buyer(session)
    product, _ = stock(session, seller, price="10.00")
    who = buyer.p["buyer"]
    call(engine, who, cart.add_to_cart, product.id, "2")
    page = Tab().sign_in(email_of(session, who)).at("/cart").state(CartState)
    run(page.load())

    kept_by_the_browser = page.checkout_key  # the cart load's answer put it in the browser's sessionStorage
    assert kept_by_the_browser
    run(page.place_orders())  # the checkout commits, but its answer is lost with the connection
    placed = _orders_of(engine, buyer.id)
    assert len(placed) == 1

    # A new connection (or a server state lost with Redis): a fresh state gets the browser's storage.
    again = Tab().sign_in(email_of(session, who)).at("/cart").state(CartState)
    again.checkout_key = kept_by_the_browser
    run(again.load())
    assert again.message == "Placed 1 order." and [p.number for p in again.placed] == [placed[0].number]
    assert again.checkout_key not in ("", kept_by_the_browser) and again.item_count == 0
    run(again.load())  # shown once
    assert again.placed == [] and again.message == ""

    # Another business's key shows nothing; neither does a key that placed nothing (it stays the
    # tab's key until a checkout with it places orders: a retry after a lost answer reuses it).
    other = make_buyer(session)
    stranger = Tab().sign_in(email_of(session, other.p["buyer"])).at("/cart").state(CartState)
    for key in (kept_by_the_browser, "0" * 32):
        stranger.checkout_key = key
        run(stranger.load())
        assert stranger.placed == [] and stranger.message == "" and stranger.checkout_key == key
    stranger.checkout_key = "<not a key>" * 10  # the browser's storage is the client's to change
    run(stranger.load())
    assert stranger.placed == [] and stranger.error == "" and len(stranger.checkout_key) == 32
    before = page.checkout_key  # the first tab took a new key when its checkout answered
    run(page.load())  # nothing was placed with that one: it is kept, and nothing is confirmed
    assert page.checkout_key == before != kept_by_the_browser and page.placed == []


def test_the_lookup_waits_for_a_checkout_still_running_with_that_key(session, engine):
    """The page reloaded while its checkout was still committing (the old connection's handler
    running on): the lookup waits for the cart lock and then sees that checkout's order."""
    import threading

    from reup_app.db import unit_of_work
    from reup_app.services.ordering import checkout_flow, checkout_outcome

    seller, buyer = make_seller(session, terms="cod"), make_buyer(session)
    product, _ = stock(session, seller, price="10.00")
    who = buyer.p["buyer"]
    call(engine, who, cart.add_to_cart, product.id, "2")
    key, looked_up, started = "k" * 32, [], threading.Event()

    def lookup() -> None:
        started.set()
        looked_up.append(call(engine, who, checkout_outcome.checkout_outcome, key))

    with unit_of_work(who, engine=engine) as s:
        placed = checkout_flow.checkout(s, who, buyer_license_id=buyer.license.id, idempotency_key=key)
        reader = threading.Thread(target=lookup, daemon=True)
        reader.start()
        started.wait(5)
        reader.join(1.0)
        assert reader.is_alive() and not looked_up  # waiting on the running checkout's cart lock
    reader.join(10)
    assert [o.number for o in looked_up[0].orders] == [o.number for o in placed.orders]
