"""Demo data for a first start and for the browser tests (`reup seed`)."""

from reup_app.seed.demo import (
    ADMIN_EMAIL,
    DEMO_ACCOUNTS,
    DEMO_PASSWORD,
    DemoAccount,
    SeedSummary,
    database_is_empty,
    seed_demo,
)

__all__ = [
    "ADMIN_EMAIL",
    "DEMO_ACCOUNTS",
    "DEMO_PASSWORD",
    "DemoAccount",
    "SeedSummary",
    "database_is_empty",
    "seed_demo",
]
