"""Integration business rules: the outbox (intents to tell a vendor), the admin error queue."""
