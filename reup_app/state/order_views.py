"""Display strings for the order page: header facts, lines with packages, timeline sentences."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from reup_app import formatting as fmt
from reup_app.services.billing.invoices import InvoiceDTO, PaymentDTO
from reup_app.services.ordering.records import OrderDetail, OrderEventDTO
from reup_app.state.orders import status_label, when

__all__ = ["actor", "describe_event", "invoice_view", "line_view", "order_view", "payment_view", "when"]


def actor(e: OrderEventDTO) -> str:
    if e.actor_name:
        return f"{e.actor_name} ({e.actor_entity_name})" if e.actor_entity_name else e.actor_name
    return "ReUp (system)"


def describe_event(e: OrderEventDTO) -> str:
    d = e.detail or {}
    if e.kind == "submitted":
        text = "Order placed"
        if d.get("lines") and _dec(d.get("total")) is not None:
            text += f" ({d['lines']} lines, {fmt.money(_dec(d['total']))})"
    elif e.kind == "lines_edited":
        changes = d.get("changes") or []
        parts = []
        for c in changes:
            if c.get("removed"):
                parts.append(f"removed {c.get('product_name')}")
            else:
                parts.append(
                    f"{c.get('product_name')}: {fmt.quantity(_dec(c['before']['quantity']))} → "
                    f"{fmt.quantity(_dec(c['after']['quantity']))}"
                )
        text = (
            "Lines edited: "
            + "; ".join(parts)
            + f" (total {fmt.money(_dec(d.get('total_before')))} → {fmt.money(_dec(d.get('total_after')))})"
        )
    elif e.kind == "fulfilled":
        labels = sorted({p.get("package_label", "") for p in d.get("packages") or []})
        text = "Fulfilled" + (f" from packages {', '.join(labels)}" if labels else "")
    elif e.kind == "shipped":
        text = "Shipped" + (f"; invoice {d['invoice_number']}" if d.get("invoice_number") else "")
    else:
        text = status_label(e.to_status or e.kind)
    for key in ("reason", "note"):
        if d.get(key):
            text += f" — {d[key]}"
    return text


def _dec(value: Any) -> Decimal | None:
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


def order_view(o: OrderDetail) -> dict[str, str]:
    day = o.requested_delivery_start or o.requested_delivery_end
    requested = day.strftime("%Y-%m-%d") if day else ""
    return {
        "number": o.number,
        "status": o.status,
        "status_label": status_label(o.status),
        "side": o.side or "",
        "buyer": o.buyer_name,
        "seller": o.seller_name,
        "buyer_license": o.buyer_license_number,
        "seller_license": o.seller_license_number,
        "terms": o.payment_terms.replace("_", " ").upper(),
        "subtotal": fmt.money(o.subtotal),
        "tax": fmt.money(o.tax),
        "total": fmt.money(o.total),
        "notes": o.notes or "",
        "delivery": o.delivery_preferences or "",
        "requested": requested,
        "placed": when(o.submitted_at or o.created_at),
        "delivery_status": delivery_words(o),
        "counterparty": o.seller_name if o.side == "buyer" else o.buyer_name,
    }


def delivery_words(o) -> str:
    """The delivery in words: "On the way · driver Dana Ortiz · Ford Transit (7ABC123)"."""
    status = getattr(o, "delivery_status", None)
    if not status:
        return ""
    parts = [fmt.DELIVERY_STATUS_LABELS.get(status, status.replace("_", " ").capitalize())]
    driver, vehicle = getattr(o, "delivery_driver", None), getattr(o, "delivery_vehicle", None)
    if driver:
        parts.append(f"driver {driver}")
    if vehicle:
        parts.append(f"vehicle {vehicle}")
    return " · ".join(parts)


def line_view(ln) -> dict[str, str]:
    packages = ", ".join(f"{a.package_label} × {fmt.quantity(a.quantity)}" for a in ln.allocations)
    return {
        "id": str(ln.id),
        "name": ln.product_name,
        "sku": ln.sku,
        "quantity": fmt.quantity(ln.quantity).replace(",", ""),
        "price": fmt.money(ln.unit_price),
        "total": fmt.money(ln.line_total),
        "packages": packages,
        "confirmed": "yes" if any(a.confirmed for a in ln.allocations) else "no",
    }


def invoice_view(inv: InvoiceDTO) -> dict[str, str]:
    return {
        "number": inv.number,
        "status": inv.status.capitalize(),
        "total": fmt.money(inv.total),
        "paid": fmt.money(inv.amount_paid),
        "balance": fmt.money(inv.balance),
        "due": inv.due_at.strftime("%Y-%m-%d"),
        "issued": inv.issued_at.strftime("%Y-%m-%d"),
        "overdue": f"Overdue by {inv.days_overdue} day{'' if inv.days_overdue == 1 else 's'}" if inv.is_overdue else "",
        "open": "yes" if inv.balance > 0 and inv.status == "open" else "no",
    }


def payment_view(p: PaymentDTO) -> dict[str, str]:
    return {
        "amount": fmt.money(p.amount),
        "method": p.method.upper(),
        "reference": p.reference or "",
        "when": when(p.received_at),
        "by": p.recorded_by_name or "",
    }


MANIFEST_LABELS = {
    "pending": "Waiting to be sent to METRC",
    "not_connected": "Not connected to METRC",
    "submitted": "Template created in METRC",
    "accepted": "Manifest issued",
    "received": "Received by the buyer",
    "rejected": "Rejected by the buyer",
    "failed": "METRC refused it",
    "voided": "Voided",
}


def manifest_view(m) -> dict[str, str]:
    """A METRC manifest (services.compliance.manifests.ManifestView) for the order page."""
    return {
        "status": m.status,
        "status_label": MANIFEST_LABELS.get(m.status, m.status),
        "number": m.manifest_number or "",
        "last_error": m.last_error or "",
        "updated": when(m.updated_at),
        "packages": str(len(m.packages)),
        "received": "; ".join(
            f"{p.label}: {p.state.lower()}"
            + (
                f" {p.received.normalize():f} of {p.shipped.normalize():f}"
                if p.received is not None and p.shipped
                else ""
            )
            for p in m.received
        ),
    }


def preship_view(check) -> dict[str, str]:
    """One pre-ship check (services.compliance.preship.PreshipCheck) as a checklist row."""
    return {"label": check.label, "ok": "yes" if check.ok else "no", "message": check.message}
