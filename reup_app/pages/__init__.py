"""Pages: layout only. Each page module registers its routes with @rx.page."""

from reup_app.pages import (  # noqa: F401
    dashboard,
    home,
    login,
    marketplace,
    seller_inventory,
    seller_pricing,
    seller_products,
)
