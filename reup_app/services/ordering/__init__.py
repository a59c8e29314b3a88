"""Ordering: the cart, checkout, the order state machine and what each transition does, line edits,
reading orders, reorder, order messages, order records (DTOs and the timeline) and shipping hooks.

Modules, and the public functions re-exported here (loaded on first use):

- `cart`: The buyer's cart (one per user per buying entity, spanning sellers): add, change, remove
  items. `offered_terms`, `hold_message`, `add_to_cart`, `update_cart_item`, `remove_cart_item`,
  `clear_cart`.
- `cart_view`: The cart as the buyer sees it: lines grouped by seller, with prices, terms and
  problems to fix. `get_cart`.
- `checkout_flow`: Checkout: turn the buyer's cart into one submitted order per seller. `checkout`.
- `checkout_licenses`: The licenses an order goes under: the buyer's license to receive, and each
  seller's license to sell. `buyer_licenses`.
- `checkout_plans`: Each seller's part of a checkout: the payment terms, delivery window and notes
  the buyer chose, checked against what the seller offers.
- `line_edits`: Seller line edits on a submitted or backordered order: change quantities, drop
  lines, re-total. `edit_lines`.
- `messages`: Buyer-seller messages scoped to one order (change requests, delivery questions,
  disputes). `post_message`, `list_messages`.
- `order_views`: Reading orders: the lists for each side, one order's detail, and its messages.
  `list_orders`, `messages_of`, `get_order`.
- `license_split`: How one seller's part of a cart splits over its licenses (one order per license).
- `order_export`: CSV export of orders or their lines, through a one-time download ticket.
- `order_filters`: The order list's filters (side, status, text, dates, counterparty, sort).
- `order_guides`: Saved order guides per store, with par quantities and add-all to the cart.
- `orders`: Orders after checkout: the one state machine. Line edits, reads and reorder have their
  own modules. `find_transition`, `transitions_from`, `load_order`, `available_actions`,
  `transition`.
- `records`: Order DTOs (what pages receive) and the order timeline writer shared by checkout and
  orders. `summary_query`, `summary_from_row`, `summaries`, `record_event`, `order_payload`,
  `emit_order_event`.
- `reordering`: Reorder: put a past order's still-sellable products back in the buyer's cart.
  `reorder`.
- `shipping`: The seam between shipping an order and the outside world (METRC manifests, Fleetbase
  deliveries). `get_shipping_hooks`, `set_shipping_hooks`.
- `transition_effects`: What each order transition does beyond the status: reserve, release,
  allocate or consume stock; invoice and shipment hooks.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from reup_app.services.lazy_exports import exports

if TYPE_CHECKING:
    from reup_app.services.ordering.cart import (
        CartItemDTO,
        add_to_cart,
        clear_cart,
        hold_message,
        offered_terms,
        remove_cart_item,
        update_cart_item,
    )
    from reup_app.services.ordering.cart_view import (
        Cart,
        CartLine,
        CartSellerGroup,
        get_cart,
    )
    from reup_app.services.ordering.checkout_flow import (
        CheckoutResult,
        checkout,
    )
    from reup_app.services.ordering.checkout_licenses import (
        LicenseChoice,
        buyer_licenses,
    )
    from reup_app.services.ordering.line_edits import (
        edit_lines,
    )
    from reup_app.services.ordering.messages import (
        list_messages,
        post_message,
    )
    from reup_app.services.ordering.order_views import (
        get_order,
        list_orders,
        messages_of,
    )
    from reup_app.services.ordering.orders import (
        Transition,
        TransitionResult,
        available_actions,
        find_transition,
        load_order,
        transition,
        transitions_from,
    )
    from reup_app.services.ordering.records import (
        AllocationDTO,
        MessageDTO,
        OrderDetail,
        OrderEventDTO,
        OrderLineDTO,
        OrderPage,
        OrderSummary,
        emit_order_event,
        order_payload,
        record_event,
        summaries,
        summary_from_row,
        summary_query,
    )
    from reup_app.services.ordering.reordering import (
        ReorderResult,
        reorder,
    )
    from reup_app.services.ordering.shipping import (
        ShipmentDetails,
        ShippingHooks,
        get_shipping_hooks,
        set_shipping_hooks,
    )

__all__ = [
    "CartItemDTO",
    "offered_terms",
    "hold_message",
    "add_to_cart",
    "update_cart_item",
    "remove_cart_item",
    "clear_cart",
    "CartLine",
    "CartSellerGroup",
    "Cart",
    "get_cart",
    "CheckoutResult",
    "checkout",
    "LicenseChoice",
    "buyer_licenses",
    "edit_lines",
    "post_message",
    "list_messages",
    "list_orders",
    "messages_of",
    "get_order",
    "Transition",
    "find_transition",
    "transitions_from",
    "TransitionResult",
    "load_order",
    "available_actions",
    "transition",
    "OrderSummary",
    "AllocationDTO",
    "OrderLineDTO",
    "OrderEventDTO",
    "MessageDTO",
    "OrderDetail",
    "OrderPage",
    "summary_query",
    "summary_from_row",
    "summaries",
    "record_event",
    "order_payload",
    "emit_order_event",
    "ReorderResult",
    "reorder",
    "ShipmentDetails",
    "ShippingHooks",
    "get_shipping_hooks",
    "set_shipping_hooks",
]

_HOME = {
    "CartItemDTO": "cart",
    "offered_terms": "cart",
    "hold_message": "cart",
    "add_to_cart": "cart",
    "update_cart_item": "cart",
    "remove_cart_item": "cart",
    "clear_cart": "cart",
    "CartLine": "cart_view",
    "CartSellerGroup": "cart_view",
    "Cart": "cart_view",
    "get_cart": "cart_view",
    "CheckoutResult": "checkout_flow",
    "checkout": "checkout_flow",
    "LicenseChoice": "checkout_licenses",
    "buyer_licenses": "checkout_licenses",
    "edit_lines": "line_edits",
    "post_message": "messages",
    "list_messages": "messages",
    "list_orders": "order_views",
    "messages_of": "order_views",
    "get_order": "order_views",
    "Transition": "orders",
    "find_transition": "orders",
    "transitions_from": "orders",
    "TransitionResult": "orders",
    "load_order": "orders",
    "available_actions": "orders",
    "transition": "orders",
    "OrderSummary": "records",
    "AllocationDTO": "records",
    "OrderLineDTO": "records",
    "OrderEventDTO": "records",
    "MessageDTO": "records",
    "OrderDetail": "records",
    "OrderPage": "records",
    "summary_query": "records",
    "summary_from_row": "records",
    "summaries": "records",
    "record_event": "records",
    "order_payload": "records",
    "emit_order_event": "records",
    "ReorderResult": "reordering",
    "reorder": "reordering",
    "ShipmentDetails": "shipping",
    "ShippingHooks": "shipping",
    "get_shipping_hooks": "shipping",
    "set_shipping_hooks": "shipping",
}

__getattr__ = exports(__name__, _HOME)
