"""The public API app for tests, served by granian in a subprocess (a real socket):
`granian --interface asgi tests.api_server:app`. It installs the audit listener and tunes the
garbage collector like the app does (reup_app/reup_app.py)."""

from reup_app.api.v1.app import build_public_api
from reup_app.gc_tuning import tune_collector
from reup_app.services.audit.trail import install_audit_listener

install_audit_listener()
app = build_public_api()
tune_collector()
