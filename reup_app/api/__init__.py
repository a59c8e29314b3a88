"""REST API and ASGI middleware mounted in front of Reflex (routes here match first)."""
