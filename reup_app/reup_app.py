"""The Reflex app: pages, REST API in front, security headers around everything."""

import reflex as rx

from reup_app import pages  # noqa: F401  (registers routes)
from reup_app.api.page_paths import page_paths
from reup_app.api.request_ids import request_ids
from reup_app.api.routes import build_api
from reup_app.api.security_headers import security_headers
from reup_app.api.v1.app import build_public_api
from reup_app.components.reconnecting import reconnecting_overlay
from reup_app.gc_tuning import tune_collector
from reup_app.jobs.embedded import embedded_worker_task
from reup_app.logs import configure_logging
from reup_app.realtime.hub import push_hub_task
from reup_app.services.audit.trail import install_audit_listener
from reup_app.settings import get_settings
from reup_app.state.lost_state import LostStateMiddleware

get_settings().validate_for_production()
configure_logging(get_settings().log_format)  # JSON lines with the request id (reup_app/logs.py)
install_audit_listener()  # every write through the app is audited (the ORM listener on Session)

app = rx.App(
    # applied in order, each wrapping the one before: request ids outermost, so every line has one
    api_transformer=[build_api(), build_public_api(), page_paths, security_headers, request_ids],
    head_components=[rx.el.meta(name="description", content="ReUp: B2B wholesale for the licensed cannabis trade")],
    stylesheets=["/reup.css"],  # accessible accent shades (assets/reup.css)
)
# Register the @rx.page pages once, now. Reflex re-applies its list of decorated pages on every
# compile, and a start compiles more than once, which logged "Page … is being redefined" for
# every page; emptying the list after this one registration keeps each page registered once.
app._apply_decorated_pages()
app._registration_context.decorated_pages.clear()
# While the WebSocket is down: "Reconnecting…", never Reflex's raw connection-error toast.
app.app_wraps[(5, "Overlay")] = lambda stateful: reconnecting_overlay() if stateful else None
# A tab whose server state was lost (Redis restarted) restores its sign-in and reloads, not "Please sign in".
app.add_middleware(LostStateMiddleware(), index=0)
# Every worker subscribes to the event bus and pushes to the browser sessions it holds.
app.register_lifespan_task(push_hub_task)
# The embedded default (no Redis, REUP_EMBEDDED_WORKER=1): the job worker runs in this process.
app.register_lifespan_task(embedded_worker_task)
# Last: what the built app holds is frozen out of the garbage collector's walks (reup_app/gc_tuning.py).
tune_collector()
