"""How a job or service reaches a vendor for one connection: its row, and a client built from it.

The one place that decrypts a connection's credentials (`security.crypto.decrypt_credentials`) and
picks its base URL; callers get a ready client and never handle keys themselves. Build clients
outside any database transaction: they are for talking to the vendor, which happens after commit.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session, col

from reup_app.errors import NotFound
from reup_app.integrations.dutchie.client import DutchieClient
from reup_app.integrations.fleetbase.client import FleetbaseClient
from reup_app.integrations.metrc.client import MetrcClient
from reup_app.models import IntegrationConnection
from reup_app.models.enums import Provider
from reup_app.security.crypto import decrypt_credentials
from reup_app.settings import Settings, get_settings


def connection_for_license(session: Session, license_id: int, provider: str) -> IntegrationConnection | None:
    """The enabled connection of a license to a vendor, if it has one."""
    return (
        session.execute(
            select(IntegrationConnection).where(
                col(IntegrationConnection.license_id) == license_id,
                col(IntegrationConnection.provider) == str(provider),
                col(IntegrationConnection.enabled).is_(True),
            )
        )
        .scalars()
        .first()
    )


def metrc_client(connection: IntegrationConnection, settings: Settings | None = None) -> MetrcClient:
    """A METRC client speaking for this connection's license (the user key it stores, the vendor key
    from settings, the connection's base URL: the sandbox in the demo and tests)."""
    if connection.provider != Provider.METRC:
        raise NotFound("That connection is not a METRC connection.")
    user_key = str(decrypt_credentials(connection).get("user_key") or "")
    return MetrcClient.from_settings(settings or get_settings(), user_key, base_url=connection.base_url or None)


def fleetbase_client(connection: IntegrationConnection, settings: Settings | None = None) -> FleetbaseClient:
    """A Fleetbase client with this connection's API key and base URL (the sandbox in the demo and tests)."""
    if connection.provider != Provider.FLEETBASE:
        raise NotFound("That connection is not a Fleetbase connection.")
    api_key = str(decrypt_credentials(connection).get("api_key") or "")
    return FleetbaseClient.from_settings(settings or get_settings(), api_key, base_url=connection.base_url or None)


def dutchie_client(
    connection: IntegrationConnection, settings: Settings | None = None, *, retry=None, timeout: float | None = None
) -> DutchieClient:
    """A Dutchie client for this connection's store: its location key (decrypted) and base URL."""
    if connection.provider != Provider.DUTCHIE:
        raise NotFound("That connection is not a Dutchie connection.")
    settings = settings or get_settings()
    key = str(decrypt_credentials(connection).get("location_key") or "")
    return DutchieClient(
        connection.base_url or settings.dutchie_base_url,
        key,
        redis_url=settings.redis_url,
        retry=retry,
        timeout=timeout if timeout is not None else settings.dutchie_timeout_seconds,
    )
