"""page_paths: a built page's URL without its trailing slash reaches the static mount as the
directory URL (no 307 round trip); anything else passes through unchanged."""

from __future__ import annotations

import asyncio

from reup_app.api.page_paths import built_pages, page_paths


def _build(tmp_path):
    for page in ("marketplace", "seller/products", ""):
        d = tmp_path / page
        d.mkdir(parents=True, exist_ok=True)
        (d / "index.html").write_text("<html></html>")
    (tmp_path / "assets").mkdir()
    (tmp_path / "assets" / "app.js").write_text("")
    return tmp_path


def test_built_page_urls_reach_their_directory(tmp_path):
    root = _build(tmp_path)
    assert built_pages(root) == {"/marketplace", "/seller/products"}
    seen: dict = {}

    async def inner(scope, receive, send):
        seen.update(path=scope["path"], raw_path=scope["raw_path"])

    mw = page_paths(inner, root)

    def through(method: str, path: str) -> str:
        asyncio.run(mw({"type": "http", "method": method, "path": path, "raw_path": path.encode()}, None, None))
        assert seen["raw_path"] == seen["path"].encode()
        return seen["path"]

    assert through("GET", "/marketplace") == "/marketplace/"
    assert through("HEAD", "/seller/products") == "/seller/products/"
    assert through("GET", "/marketplace/") == "/marketplace/"
    assert through("POST", "/marketplace") == "/marketplace"
    assert through("GET", "/assets/app.js") == "/assets/app.js"
    assert through("GET", "/orders/ORD-1") == "/orders/ORD-1"
    assert through("GET", "/") == "/"


def test_no_build_yet_passes_everything_through(tmp_path):
    seen: dict = {}

    async def inner(scope, receive, send):
        seen["path"] = scope["path"]

    mw = page_paths(inner, tmp_path / "not-built")
    asyncio.run(mw({"type": "http", "method": "GET", "path": "/marketplace", "raw_path": b"/marketplace"}, None, None))
    assert seen["path"] == "/marketplace"
    _build(tmp_path / "not-built")  # built later: found then
    asyncio.run(mw({"type": "http", "method": "GET", "path": "/marketplace", "raw_path": b"/marketplace"}, None, None))
    assert seen["path"] == "/marketplace/"
