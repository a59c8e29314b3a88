"""Pages: layout only. Each page module registers its routes with @rx.page."""

from reup_app.pages import home, login, marketplace, notification_settings  # noqa: F401
