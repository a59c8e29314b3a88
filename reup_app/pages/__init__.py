"""Pages: layout only. Each page module registers its routes with @rx.page."""

from reup_app.pages import account_recovery, admin, home, login, marketplace, not_allowed, settings, signup  # noqa: F401
