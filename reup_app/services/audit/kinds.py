"""Kinds of record in the audit trail, in the business's words, and which tables are technical.

A kind groups the tables a business thinks of as one thing (an order is its lines, messages,
delivery and manifest too). Tables in no kind (sessions, one-time codes, allocations, order
events that repeat the order's own change, outbox bookkeeping, bulk statements) are *technical*:
the business view hides them unless the reader turns on "technical".
"""

from __future__ import annotations

from reup_app.errors import ValidationError

# kind -> (label, tables); the order is the order of the filter list.
KINDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "orders": (
        "Orders",
        ("orders", "order_lines", "order_messages", "deliveries", "compliance_manifests", "cart_items"),
    ),
    "invoices": ("Invoices and payments", ("invoices", "payments")),
    "products": ("Products", ("products", "product_images", "brands")),
    "inventory": ("Inventory", ("inventory_lots", "inventory_conflicts", "metrc_packages", "metrc_item_mappings")),
    "pricing": ("Pricing", ("price_tiers", "price_tier_prices")),
    "team": ("Team and people", ("memberships", "users", "notification_preferences")),
    "business": (
        "Business and licences",
        ("entities", "licenses", "business_documents", "trade_relationships", "support_views"),
    ),
    "integrations": ("Integrations", ("integration_connections",)),
}

# Every table some kind names: the rows a business reads by default.
BUSINESS_TABLES: frozenset[str] = frozenset(t for _label, tables in KINDS.values() for t in tables)

# What one row of each table is called in a sentence ("changed <noun> #12").
NOUNS: dict[str, str] = {
    "orders": "order",
    "order_lines": "order line",
    "order_messages": "message",
    "deliveries": "delivery",
    "compliance_manifests": "manifest",
    "cart_items": "cart item",
    "invoices": "invoice",
    "payments": "payment",
    "products": "product",
    "product_images": "product image",
    "brands": "brand",
    "inventory_lots": "inventory lot",
    "inventory_conflicts": "inventory conflict",
    "metrc_packages": "METRC package",
    "metrc_item_mappings": "METRC item mapping",
    "price_tiers": "price tier",
    "price_tier_prices": "tier price",
    "memberships": "team membership",
    "users": "user account",
    "notification_preferences": "notification preference",
    "entities": "business profile",
    "licenses": "licence",
    "business_documents": "business document",
    "trade_relationships": "customer relationship",
    "integration_connections": "integration connection",
    "support_views": "support view",
    "refresh_tokens": "session",
    "one_time_tokens": "one-time code",
    "mfa_recovery_codes": "recovery code",
    "order_events": "order event",
    "order_line_allocations": "stock allocation",
    "outbox_messages": "outbox message",
}


def kind_options() -> list[tuple[str, str]]:
    """(value, label) for the filter list."""
    return [(kind, label) for kind, (label, _tables) in KINDS.items()]


def tables_of(kind: str) -> tuple[str, ...]:
    if kind not in KINDS:
        raise ValidationError("Choose a kind of record from the list.", field="kind")
    return KINDS[kind][1]


def is_technical(table_name: str) -> bool:
    return table_name not in BUSINESS_TABLES


def noun(table_name: str) -> str:
    return NOUNS.get(table_name, table_name.replace("_", " "))
