"""What a checkout with a given key placed: the cart page's answer when the checkout's own was lost."""

from __future__ import annotations

from sqlmodel import Session

from reup_app.security.permissions import authorize
from reup_app.security.principal import Principal
from reup_app.services.common import acting_user, begin_read_committed, check_idempotency_key, require_member
from reup_app.services.ordering.cart import lock_cart
from reup_app.services.ordering.checkout_flow import CheckoutResult, orders_placed_with
from reup_app.services.ordering.records import summaries


def checkout_outcome(session: Session, principal: Principal, idempotency_key: str) -> CheckoutResult:
    """What the checkout with this key placed for the principal's business (no orders when it
    placed none, or the key is another business's): the cart page shows it when the checkout's
    own answer was lost with the connection. Changes nothing. Takes the cart's lock first, as
    checkout does: a checkout still running (its answer lost, the page reloaded) is waited for."""
    begin_read_committed(session)
    entity_id = require_member(principal)
    authorize(principal, "order.view", entity_id)
    key = check_idempotency_key(idempotency_key, required=True)
    lock_cart(session, entity_id, acting_user(principal))
    return CheckoutResult(orders=summaries(session, orders_placed_with(session, entity_id, key)), replayed=True)
