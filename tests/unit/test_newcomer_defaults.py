"""A local run works at 127.0.0.1 as well as localhost (socket origins), and pages register once."""

import pytest

from reup_app.settings import Settings


@pytest.mark.parametrize(
    ("app_url", "expected"),
    [
        ("http://localhost:3000", ["http://localhost:3000", "http://127.0.0.1:3000", "http://[::1]:3000"]),
        ("http://127.0.0.1:3150", ["http://127.0.0.1:3150", "http://localhost:3150", "http://[::1]:3150"]),
        ("https://reup.example.com", ["https://reup.example.com"]),
        ("http://127.0.0.2:3400", ["http://127.0.0.2:3400"]),  # a second local process: its own origin only
    ],
)
def test_socket_origins_add_only_the_loopback_aliases(app_url, expected):
    assert Settings(app_url=app_url).socket_origins == expected


def test_each_page_is_registered_once_however_often_reflex_compiles(monkeypatch):
    import reflex.app as rx_app

    from reup_app.reup_app import app

    warnings: list[str] = []
    monkeypatch.setattr(rx_app.logger, "warning", lambda msg, *a, **k: warnings.append(str(msg)))
    routes = set(app._unevaluated_pages)
    assert {"marketplace", "cart", "products/[product_id]"} <= routes
    app._apply_decorated_pages()  # what every compile does first
    app._apply_decorated_pages()
    assert [w for w in warnings if "being redefined" in w] == []
    assert set(app._unevaluated_pages) == routes
