"""Order pages say things in words: delivery status, driver and vehicle; what reorder trimmed."""

from types import SimpleNamespace

from reup_app.services.ordering.reordering import ReorderResult
from reup_app.state.order_detail import reorder_notice
from reup_app.state.order_views import delivery_words


def test_delivery_status_driver_and_vehicle_in_words():
    o = SimpleNamespace(delivery_status="in_transit", delivery_driver="Dana Ortiz", delivery_vehicle="Ford Transit")
    assert delivery_words(o) == "On the way · driver Dana Ortiz · vehicle Ford Transit"
    assert delivery_words(SimpleNamespace(delivery_status="pending")) == "Waiting to be scheduled"
    assert delivery_words(SimpleNamespace(delivery_status=None)) == ""


def test_reorder_notice_names_the_trimmed_lines():
    result = ReorderResult(added=[object()], trimmed=[{"sku": "S", "name": "Blue Dream", "ordered": "6", "added": "1"}])
    assert reorder_notice(result) == (
        "Added 1 product(s) to your cart. Less is in stock than you ordered, so we added — Blue Dream: 1 of 6 ordered."
    )
    assert reorder_notice(ReorderResult(added=[object()])) == "Added 1 product(s) to your cart."
