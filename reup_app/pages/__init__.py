"""Pages: layout only. Each page module registers its routes with @rx.page."""

from reup_app.pages import cart, home, login, marketplace, order_detail, orders, product  # noqa: F401
