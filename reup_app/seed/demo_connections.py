"""The demo's METRC connections: every license of the demo wholesalers is connected to the local
METRC sandbox (`reup sandbox metrc --seed demo`, at `settings.metrc_base_url`) with the sandbox's
demo user key of its company, so a first start (`scripts/start.sh`) shows syncs running at once."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlmodel import Session

from reup_app.models import IntegrationConnection, License
from reup_app.models.enums import Provider
from reup_app.security.crypto import encrypt_credentials
from reup_app.settings import get_settings


def demo_user_key(company_key: str) -> str:
    """The METRC sandbox user API key of a demo company (the sandbox reads it from here; README lists them)."""
    return f"demo-user-{company_key}"


def connect_demo_licenses(session: Session, companies: Iterable[tuple[str, list[License]]], now: datetime) -> int:
    """Add one METRC connection per license of each (company key, licenses); returns how many."""
    base_url = get_settings().metrc_base_url
    made = 0
    for company_key, licenses in companies:
        for lic in licenses:
            credentials = {"user_key": demo_user_key(company_key), "state": lic.state}
            session.add(
                IntegrationConnection(
                    entity_id=lic.entity_id,
                    license_id=lic.id,
                    provider=str(Provider.METRC),
                    base_url=base_url,
                    credentials_encrypted=encrypt_credentials(lic.id, str(Provider.METRC), credentials),
                    enabled=True,
                    status="ok",
                    created_at=now,
                    updated_at=now,
                )
            )
            made += 1
    session.flush()
    return made


FLEETBASE_SANDBOX_KEY = "flb_test_reup_sandbox"  # the Fleetbase sandbox's default API key


def connect_demo_fleetbase(session: Session, licenses: Iterable[License], now: datetime) -> int:
    """With `REUP_DEMO_FLEETBASE=1` (scripts/start.sh): one Fleetbase connection per demo wholesaler
    license to the local Fleetbase sandbox, so shipped demo orders get live deliveries."""
    settings = get_settings()
    if not settings.demo_fleetbase:
        return 0
    made = 0
    for lic in licenses:
        credentials = {"api_key": FLEETBASE_SANDBOX_KEY}
        session.add(
            IntegrationConnection(
                entity_id=lic.entity_id,
                license_id=lic.id,
                provider=str(Provider.FLEETBASE),
                base_url=settings.fleetbase_base_url,
                credentials_encrypted=encrypt_credentials(lic.id, str(Provider.FLEETBASE), credentials),
                enabled=True,
                status="ok",
                created_at=now,
                updated_at=now,
            )
        )
        made += 1
    session.flush()
    return made


def demo_dutchie_key(license_number: str) -> str:
    """The Dutchie sandbox location key of a demo store (the sandbox seeds its locations from here)."""
    return "demo-dutchie-" + license_number.lower()


def connect_demo_stores(session: Session, licenses: Iterable[License], now: datetime) -> int:
    """Connect each demo retail licence to its store in the local Dutchie sandbox
    (`reup sandbox dutchie --seed demo`, at `settings.dutchie_base_url`); returns how many."""
    base_url = get_settings().dutchie_base_url
    made = 0
    for lic in licenses:
        if lic.license_type != "adult_use_retail":
            continue
        credentials = {"location_key": demo_dutchie_key(lic.number)}
        session.add(
            IntegrationConnection(
                entity_id=lic.entity_id,
                license_id=lic.id,
                provider=str(Provider.DUTCHIE),
                base_url=base_url,
                credentials_encrypted=encrypt_credentials(lic.id, str(Provider.DUTCHIE), credentials),
                enabled=True,
                status="retry",  # the worker's first pass syncs it
                created_at=now,
                updated_at=now,
            )
        )
        made += 1
    session.flush()
    return made
