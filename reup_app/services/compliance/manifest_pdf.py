"""Render a ManifestView as a printable PDF (the paper that rides with the shipment).

Same approach as billing/invoice_pdf.py: fpdf2 when installed, else that module's dependency-free
one-font writer, so the manifest always renders.
"""

from __future__ import annotations

from sqlmodel import Session

from reup_app.errors import NotFound
from reup_app.security.principal import Principal
from reup_app.services.billing import download_tickets
from reup_app.services.billing.invoice_pdf import _latin1, _usd, minimal_pdf
from reup_app.services.common import fmt_qty
from reup_app.services.compliance.manifests import ManifestView, get_order_manifest

try:  # pragma: no cover - exercised by whichever branch the environment has
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos
except ImportError:  # pragma: no cover
    FPDF = None

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
    return _render_fpdf(m) if FPDF is not None else render_plain(m)


def _render_fpdf(m: ManifestView) -> bytes:
    pdf = FPDF(format="letter", unit="pt")
    pdf.set_compression(False)
    pdf.set_title(_latin1(f"Manifest for order {m.order_number}"))
    pdf.set_author(_latin1(m.shipper.name))
    pdf.set_creator("ReUp")
    pdf.set_margins(40, 40, 40)
    pdf.set_auto_page_break(True, margin=50)
    pdf.add_page()
    nl = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}
    pdf.set_font("Helvetica", "B", 18)
    pdf.cell(0, 24, _latin1(f"TRANSPORT MANIFEST {m.manifest_number or ''}".strip()), **nl)
    pdf.set_font("Helvetica", "", 10)
    for label, value in facts(m):
        pdf.cell(95, 14, _latin1(label + ":"))
        pdf.cell(0, 14, _latin1(value), **nl)
    pdf.ln(8)
    top = pdf.get_y()
    width = (pdf.w - pdf.l_margin - pdf.r_margin) / 2
    for col, (title, party) in enumerate((("Shipper", m.shipper), ("Recipient", m.recipient))):
        pdf.set_xy(pdf.l_margin + col * width, top)
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(width, 14, title, new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_font("Helvetica", "", 10)
        for ln in _party_lines(party):
            pdf.cell(width, 13, _latin1(ln), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_x(pdf.l_margin)
    pdf.ln(14)
    pdf.set_font("Helvetica", "", 8)
    with pdf.table(
        col_widths=(130, 140, 60, 40, 30, 55, 60),
        text_align=("LEFT", "LEFT", "LEFT", "RIGHT", "LEFT", "RIGHT", "RIGHT"),
        line_height=12,
        first_row_as_headings=True,
    ) as table:
        header = table.row()
        for h in _HEADINGS:
            header.cell(h)
        for p in m.packages:
            row = table.row()
            for value in _row(p):
                row.cell(_latin1(value))
    pdf.ln(24)
    pdf.set_font("Helvetica", "", 10)
    for who in ("Shipper", "Driver", "Recipient"):
        pdf.cell(0, 22, _latin1(f"{who} signature: ______________________________   Date: ____________"), **nl)
    return bytes(pdf.output())


def plain_lines(m: ManifestView) -> list[str]:
    out = [f"TRANSPORT MANIFEST {m.manifest_number or ''}".strip(), ""]
    out += [f"{label}: {value}" for label, value in facts(m)]
    out += ["", "Shipper:", *_party_lines(m.shipper), "", "Recipient:", *_party_lines(m.recipient), ""]
    out.append(f"{'Package label':<25}{'Item':<30}{'Qty':>8} {'Unit':<5}{'Wholesale':>11}{'Value':>12}")
    for p in m.packages:
        r = _row(p)
        out.append(f"{r[0]:<25}{r[1][:29]:<30}{r[3]:>8} {r[4]:<5}{r[5]:>11}{r[6]:>12}")
    return out


def render_plain(m: ManifestView) -> bytes:
    return minimal_pdf(plain_lines(m), title=f"Manifest for order {m.order_number}")


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
    return download_tickets.issue_ticket(principal, "manifest", manifest.order_number)
