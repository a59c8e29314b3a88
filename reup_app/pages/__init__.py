"""Pages: layout only. Each page module registers its routes with @rx.page."""

from reup_app.pages import (  # noqa: F401
    account_recovery,
    admin,
    admin_jobs,
    cart,
    dashboard,
    home,
    integrations,
    login,
    marketplace,
    not_allowed,
    notification_settings,
    order_detail,
    orders,
    product,
    seller_inventory,
    seller_metrc,
    seller_pricing,
    seller_products,
    settings,
    signup,
)
