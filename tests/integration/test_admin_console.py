"""The platform admin console: read-only audited "view as business", platform metrics, integration
health with retry, users page opening with recent users, navigation derived from permissions."""

from __future__ import annotations

import pytest
from sqlmodel import select

from reup_app.db import unit_of_work
from reup_app.errors import PermissionDenied, ValidationError
from reup_app.models import Entity, IntegrationConnection, SupportView, SyncRun
from reup_app.models.types import utcnow
from reup_app.security.permissions import is_allowed
from reup_app.security.principal import support_view
from reup_app.services.audit.log_listing import list_audit
from reup_app.services.identity import admin_users, team
from reup_app.services.identity import support_view as support_service
from reup_app.services.integrations import health
from reup_app.services.ordering import cart, order_views, orders
from reup_app.services.reporting import dashboards, platform_metrics
from tests.factories import make_user
from tests.identity_support import admin_principal
from tests.integration.orderkit import advance, call, fresh, key, make_buyer, make_seller, place_one, stock


def test_support_view_reads_orders_dashboard_team_and_refuses_every_write(session, engine):
    seller, buyer = make_seller(session), make_buyer(session)
    product, _lots = stock(session, seller, qty="20")
    number = place_one(engine, buyer, product, "2")
    admin = admin_principal(session)
    started = call(engine, admin, support_service.start_support_view, seller.id, "Ticket 42: orders missing")
    assert started.entity_id == seller.id and started.name == seller.entity.name
    viewer = support_view(admin, seller.id)

    page = call(engine, viewer, order_views.list_orders)
    assert number in [o.number for o in page.items]
    assert call(engine, viewer, order_views.get_order, number).number == number
    assert number in [o.number for o in call(engine, viewer, dashboards.wholesaler_dashboard).incoming.orders]
    assert call(engine, viewer, team.list_members, seller.id)

    # refused by permissions (the principal) ...
    for fn, args in (
        (orders.transition, (number, "accept")),
        (team.invite_member, (seller.id, "someone@example.test", "viewer")),
        (cart.add_to_cart, (product.id, "1")),
    ):
        with pytest.raises(PermissionDenied):
            call(engine, viewer, fn, *args, **({"idempotency_key": key()} if fn is orders.transition else {}))
    # ... and by the unit of work, whatever a service forgets to check
    with pytest.raises(PermissionDenied), unit_of_work(viewer, engine=engine) as s:
        row = s.get(Entity, seller.id)
        row.name = "changed by support"
        s.add(row)
    with fresh(engine) as s:
        assert s.get(Entity, seller.id).name == seller.entity.name
        assert s.exec(select(SupportView).where(SupportView.entity_id == seller.id)).one().reason.startswith("Ticket")
        trail = list_audit(s, seller.owner, kind="business", page_size=200)
    assert any("opened a read-only support view" in e.summary and "Ticket 42" in e.summary for e in trail.items)
    assert not is_allowed(viewer, "platform.jobs.manage", None)

    assert call(engine, admin, support_service.end_support_view) == 1


def test_only_platform_admins_start_support_views_and_need_a_reason(session, engine):
    seller = make_seller(session)
    admin = admin_principal(session)
    with pytest.raises(PermissionDenied):
        call(engine, seller.owner, support_service.start_support_view, seller.id, "looking around")
    with pytest.raises(ValidationError):
        call(engine, admin, support_service.start_support_view, seller.id, "")
    with pytest.raises(PermissionDenied):  # not from inside a support view
        call(engine, support_view(admin, seller.id), support_service.start_support_view, seller.id, "nested view")


def test_platform_metrics_count_gmv_orders_active_businesses_and_funnel(session, engine):
    admin = admin_principal(session)
    before = call(engine, admin, platform_metrics.platform_metrics, days=7)
    seller, buyer = make_seller(session), make_buyer(session)
    product, _lots = stock(session, seller, qty="50", price="10.00")
    shipped = place_one(engine, buyer, product, "3")
    advance(engine, seller, shipped, "accept", "fulfill", "ship")
    rejected = place_one(engine, buyer, product, "1")
    advance(engine, seller, rejected, "reject")
    after = call(engine, admin, platform_metrics.platform_metrics, days=7)
    with fresh(engine) as s:
        from reup_app.models import Order

        total = s.exec(select(Order).where(Order.number == shipped)).one().total
    assert after.orders - before.orders == 2
    assert after.gmv - before.gmv == total  # the rejected order is not GMV
    assert after.active_businesses - before.active_businesses == 2
    delta = {k: v - dict(before.funnel)[k] for k, v in after.funnel}
    assert delta == {"Placed": 2, "Accepted": 1, "Shipped": 1, "Delivered": 0, "Complete": 0}
    assert len(after.series) == 7 and after.series[-1].orders - before.series[-1].orders == 2
    with pytest.raises(PermissionDenied):
        call(engine, seller.owner, platform_metrics.platform_metrics)


def test_integration_health_lists_every_connection_with_failures_and_retry(session, engine):
    seller = make_seller(session)
    admin = admin_principal(session)
    conn = IntegrationConnection(
        entity_id=seller.id,
        license_id=seller.license.id,
        provider="metrc",
        base_url="http://x",
        credentials_encrypted="x",
    )
    session.add(conn)
    session.commit()
    now = utcnow()
    session.add(SyncRun(connection_id=conn.id, resource="packages", status="failed", started_at=now, error="HTTP 500"))
    session.commit()
    rows = {h.connection_id: h for h in call(engine, admin, health.connection_health)}
    row = rows[conn.id]
    assert row.business == seller.entity.name and row.failed_runs_week == 1 and row.last_sync_status == "failed"
    assert "HTTP 500" in row.last_error
    call(engine, admin, health.retry_connection, conn.id)
    with fresh(engine) as s:
        assert s.get(IntegrationConnection, conn.id).status == "retry"
    with pytest.raises(PermissionDenied):
        call(engine, seller.owner, health.connection_health)


def test_users_page_opens_with_recent_users(session, engine):
    admin = admin_principal(session)
    newest = make_user(session)
    recent = call(engine, admin, admin_users.search_users, "")
    assert newest.id in [u.user_id for u in recent]
    with pytest.raises(ValidationError):
        call(engine, admin, admin_users.search_users, "ab")


def test_navigation_actions_follow_permissions(session):
    from reup_app.components.shell import NAV_LINKS
    from reup_app.state.auth import NAV_ACTIONS, nav_actions_for

    seller, buyer = make_seller(session), make_buyer(session)
    assert {a for _l, _h, a, _k in NAV_LINKS if a} <= set(NAV_ACTIONS)
    fulfilment = nav_actions_for(seller.p["fulfillment"])
    assert "pricing.manage" not in fulfilment and "inventory.manage" in fulfilment
    assert "pricing.manage" in nav_actions_for(seller.p["sales"])
    buyer_nav = nav_actions_for(buyer.p["buyer"])
    assert "team.view" not in buyer_nav and "audit.view" not in buyer_nav and "cart.manage" in buyer_nav
    assert {"team.view", "audit.view"} <= set(nav_actions_for(buyer.owner))
    admin = admin_principal(session)
    assert nav_actions_for(admin) == ["platform.jobs.manage"]
    support = nav_actions_for(support_view(admin, seller.id))
    assert {"order.view", "dashboard.view", "team.view"} <= set(support)
    assert not {"cart.manage", "pricing.manage", "platform.jobs.manage"} & set(support)
