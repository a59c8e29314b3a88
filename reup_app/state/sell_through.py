"""/sell-through: a wholesaler's weekly units per opted-in store (services/pos/sell_through)."""

from __future__ import annotations

from typing import Any

import reflex as rx

from reup_app.errors import ServiceError
from reup_app.services.pos import sell_through as svc
from reup_app.state.base import AppState, error_message


class SellThroughState(AppState):
    rows: list[dict[str, str]] = []
    series: dict[str, list[dict[str, Any]]] = {}
    error: str = ""

    @rx.event
    async def load(self):
        if (denied := await self._gate("dashboard.view", kind="wholesaler")) is not None:
            return denied
        self.error = ""
        try:
            stores = await self._call(svc.sell_through)
        except ServiceError as err:
            self.error = error_message(err, "sell-through")
            return
        self.rows = [{"license_id": str(s.license_id), "store": s.store_name, "total": str(s.total)} for s in stores]
        self.series = {
            str(s.license_id): [
                {"week": f"-{len(s.weekly_units) - i}w", "units": u} for i, u in enumerate(s.weekly_units)
            ]
            for s in stores
        }
