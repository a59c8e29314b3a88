"""Deliveries in the browser: the order page's delivery panel (display strings from
services.logistics.deliveries.DeliveryView) and the seller's live deliveries board (/seller/deliveries).

The route picture is the service's SVG (numbers only) as a data: URL; a proof of delivery is shown
only when it is a data: image or an https URL."""

from __future__ import annotations

import base64

import reflex as rx

from reup_app.realtime.listeners import live_listener
from reup_app.services.logistics import deliveries
from reup_app.state.base import AppState, error_message
from reup_app.state.orders import when

PROBLEM_KINDS = [(k, v) for k, v in deliveries.PROBLEM_KINDS.items()]
SAFE_PROOF_PREFIXES = ("data:image/png;base64,", "data:image/jpeg;base64,", "data:image/svg+xml;base64,", "https://")


def _svg_url(svg: str) -> str:
    return "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode() if svg else ""


def delivery_view(v: deliveries.DeliveryView | None) -> tuple[dict[str, str], list[dict[str, str]]]:
    """(facts, timeline rows) for the order page; ({}, []) before the order ships."""
    if v is None:
        return {}, []
    proof = v.proof or {}
    proof_url = str(proof.get("data_url") or "")
    problem = v.problem or {}
    facts = {
        "status": v.status,
        "status_label": v.status_label,
        "note": v.note or "",
        "tracking": v.tracking_number or "",
        "driver": " · ".join(x for x in (v.driver_name, v.driver_phone) if x),
        "vehicle": v.vehicle or "",
        "eta": when(v.eta) if v.status not in ("delivered", "cancelled", "failed") else "",
        "scheduled": when(v.scheduled_at),
        "delivered": when(v.delivered_at),
        "late": "yes" if v.late else "",
        "progress": f"{v.progress:.0f}%" if v.progress is not None else "",
        "route": _svg_url(v.route_svg),
        "proof": proof_url if proof_url.startswith(SAFE_PROOF_PREFIXES) else "",
        "proof_label": str(proof.get("remarks") or proof.get("type") or ""),
        "problem": f"{problem.get('label', '')}: {problem.get('text', '')}" if problem else "",
        "can_report": "yes" if v.can_report_problem else "",
        "can_cancel": "yes" if v.can_cancel else "",
        "driver_change": v.driver_change or "",
    }
    steps = [{"label": label, "when": when(at)} for label, at in v.timeline]
    return facts, steps


def _board_row(r: deliveries.BoardRow) -> dict[str, str]:
    return {
        "number": r.order_number,
        "buyer": r.buyer,
        "status": r.status,
        "status_label": r.status_label,
        "scheduled": when(r.scheduled_at),
        "eta": when(r.eta),
        "driver": r.driver_name or "",
        "vehicle": r.vehicle or "",
        "late": "yes" if r.late else "",
        "problem": "yes" if r.problem else "",
        "driver_change": r.driver_change or "",
    }


BOARD_GROUPS = [
    ("pending", "Waiting for Fleetbase"),
    ("scheduled", "Scheduled"),
    ("dispatched", "Dispatched"),
    ("in_transit", "On the way"),
    ("delivered", "Delivered"),
    ("failed", "Failed"),
    ("cancelled", "Cancelled"),
]


@live_listener(kinds=("delivery.updated", "order.status_changed"))
class DeliveriesBoardState(AppState):
    by_status: dict[str, list[dict[str, str]]] = {}  # BOARD_GROUPS status -> rows (every status present)
    total: int = 0
    late_count: int = 0
    error: str = ""
    loaded: bool = False

    async def _reload(self) -> None:
        try:
            board = await self._call(deliveries.seller_board)
        except Exception as err:
            self.error, self.by_status, self.loaded = error_message(err, "deliveries board"), {}, True
            return
        self.by_status = {s: [_board_row(r) for r in board if r.status == s] for s, _ in BOARD_GROUPS}
        self.total = len(board)
        self.late_count = sum(1 for r in board if r.late)
        self.error, self.loaded = "", True

    async def _on_domain_event(self, event) -> None:
        """A delivery of this seller changed (or an order of theirs moved): reload the board."""
        if event.kind in ("delivery.updated", "order.status_changed"):
            await self._reload()

    @rx.event
    async def load(self):
        if (denied := await self._gate("order.view", kind="wholesaler")) is not None:
            return denied
        await self._reload()
