"""Page URLs without a trailing slash answered directly.

The production build keeps each page as `<page>/index.html`, and the static mount answers
`/marketplace` with a 307 to `/marketplace/`: one more round trip on every reload, shared link and
sign-in redirect. This middleware gives such a GET or HEAD the page's directory URL inside the app
(the browser keeps the URL it asked for). Paths that are not built pages pass through unchanged.
"""

from __future__ import annotations

from pathlib import Path


def _static_dir() -> Path:
    from reflex.config import get_config
    from reflex.utils import prerequisites
    from reflex_base import constants

    return (prerequisites.get_web_dir() / constants.Dirs.STATIC / get_config().frontend_path.strip("/")).resolve()


def built_pages(root: Path) -> frozenset[str]:
    """URL paths ("/seller/products") of the pages built under `root` (each a `<path>/index.html`)."""
    return frozenset("/" + p.parent.relative_to(root).as_posix() for p in root.rglob("index.html") if p.parent != root)


def page_paths(app, root: Path | None = None):
    pages: frozenset[str] | None = None

    def known() -> frozenset[str]:
        nonlocal pages
        if pages is None:
            where = root or _static_dir()
            if not where.is_dir():
                return frozenset()  # not built (yet): nothing to route, ask again next time
            pages = built_pages(where)
        return pages

    async def middleware(scope, receive, send):
        if scope["type"] == "http" and scope.get("method") in ("GET", "HEAD"):
            path = scope.get("path", "")
            if path and not path.endswith("/") and path in known():
                scope = {**scope, "path": path + "/", "raw_path": (path + "/").encode()}
        await app(scope, receive, send)

    return middleware
