"""Pure display helpers of the order pages: route segments and timeline sentences."""

from __future__ import annotations

from datetime import UTC, datetime

from reup_app.services.ordering.records import OrderEventDTO
from reup_app.state.order_views import describe_event
from reup_app.state.route_args import route_arg


def _event(kind: str, detail: dict, to_status: str | None = None) -> OrderEventDTO:
    return OrderEventDTO(
        id=1,
        kind=kind,
        from_status=None,
        to_status=to_status or kind,
        actor_user_id=1,
        actor_name="Ana",
        actor_entity_id=2,
        actor_entity_name="Shop",
        detail=detail,
        created_at=datetime(2026, 1, 1, tzinfo=UTC),
    )


def test_route_arg_takes_the_segment_after_its_prefix_only():
    assert route_arg("/orders/RU-00000001", "orders") == "RU-00000001"
    assert route_arg("/orders/RU-1/", "orders") == "RU-1"
    assert route_arg("/products/12?x=1", "products") == "12"
    assert route_arg("/orders", "orders") == ""
    assert route_arg("/products/12", "orders") == ""
    assert route_arg(None, "orders") == ""
    assert len(route_arg("/orders/" + "9" * 500, "orders")) == 64


def test_timeline_sentences():
    assert describe_event(_event("submitted", {"lines": 2, "total": "12.5"})) == "Order placed (2 lines, $12.50)"
    assert describe_event(_event("submitted", {})) == "Order placed"
    assert describe_event(_event("rejected", {"reason": "Out of stock"})) == "Rejected — Out of stock"
    assert describe_event(_event("backorder", {})) == "On backorder"
    packages = {"packages": [{"package_label": "B"}, {"package_label": "A"}, {"package_label": "A"}]}
    assert describe_event(_event("fulfilled", packages)) == "Fulfilled from packages A, B"
    assert describe_event(_event("shipped", {"invoice_number": "INV-1"})) == "Shipped; invoice INV-1"
    edit = {
        "changes": [
            {"product_name": "Gummies", "before": {"quantity": "4.000"}, "after": {"quantity": "2"}},
            {"product_name": "Vape", "removed": True},
        ],
        "total_before": "40",
        "total_after": "20",
    }
    assert (
        describe_event(_event("lines_edited", edit, "submitted"))
        == "Lines edited: Gummies: 4 → 2; removed Vape (total $40.00 → $20.00)"
    )
