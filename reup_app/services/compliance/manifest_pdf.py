"""Render a ManifestView as a printable PDF (the paper that rides with the shipment), laid out with
the shared document pieces in reup_app/services/pdf_kit.py."""

from __future__ import annotations

from sqlmodel import Session

from reup_app.errors import NotFound
from reup_app.security.principal import Principal
from reup_app.services import file_tickets
from reup_app.services import pdf_kit as kit
from reup_app.services.common import fmt_qty
from reup_app.services.compliance.manifests import ManifestView, get_order_manifest

_usd = kit.usd

_HEADINGS = ("Package label", "Item", "SKU", "Qty", "Unit", "Wholesale", "Value")


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "not set"


def facts(m: ManifestView) -> list[tuple[str, str]]:
    return [
        ("Manifest", m.manifest_number or "not issued yet"),
        ("Status", m.status.upper()),
        ("Order", m.order_number),
        ("Departure (ETD)", _when(m.departure)),
        ("Arrival (ETA)", _when(m.arrival)),
        ("Driver", " ".join(x for x in (m.driver_name, m.driver_phone) if x) or "not set"),
        ("Vehicle", m.vehicle or "not set"),
    ]


def _party_lines(party) -> list[str]:
    return [party.name, *party.address, f"License {party.license_number} ({party.license_type})"]


def _row(p) -> tuple[str, ...]:
    return (
        p.package_label,
        p.item,
        p.sku,
        fmt_qty(p.quantity),
        p.unit,
        _usd(p.wholesale_price),
        _usd(p.wholesale_value),
    )


def render(m: ManifestView) -> bytes:
    pdf = kit.new_document(f"Manifest for order {m.order_number}", m.shipper.name)
    kit.heading(pdf, f"TRANSPORT MANIFEST {m.manifest_number or ''}".strip(), size=18)
    kit.facts(pdf, facts(m), label_width=95)
    kit.parties(pdf, [("Shipper", _party_lines(m.shipper)), ("Recipient", _party_lines(m.recipient))])
    kit.table(
        pdf,
        _HEADINGS,
        [_row(p) for p in m.packages],
        (130, 140, 60, 40, 30, 55, 60),
        ("LEFT", "LEFT", "LEFT", "RIGHT", "LEFT", "RIGHT", "RIGHT"),
        font_size=8,
    )
    pdf.ln(16)
    pdf.set_font("Helvetica", "", 10)
    for who in ("Shipper", "Driver", "Recipient"):
        pdf.cell(
            0, 22, kit.latin1(f"{who} signature: ______________________________   Date: ____________"), **kit.NEXT_LINE
        )
    return kit.output(pdf)


def render_manifest_pdf(session: Session, principal: Principal, order_number: str) -> bytes:
    """The order's manifest as a PDF, for the buyer or the seller; NotFound before it ships."""
    manifest = get_order_manifest(session, principal, order_number)
    if manifest is None:
        raise NotFound(f"Order {str(order_number)[:32]} has no manifest yet; it gets one when it ships.")
    return render(manifest)


def create_manifest_ticket(session: Session, principal: Principal, order_number: str) -> str:
    """A single-use ticket for /api/orders/<number>/manifest.pdf; only the order's parties get one."""
    manifest = get_order_manifest(session, principal, order_number)
    if manifest is None:
        raise NotFound(f"Order {str(order_number)[:32]} has no manifest yet; it gets one when it ships.")
    return file_tickets.issue_ticket(principal, "manifest", manifest.order_number)
