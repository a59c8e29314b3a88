"""Render an InvoiceDTO as a PDF.

Uses fpdf2 (pure Python, pinned in pyproject.toml). Content streams are left uncompressed:
invoices are small and their text stays searchable.
"""

from __future__ import annotations

from decimal import Decimal

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from reup_app.services.common import fmt_qty, money_str


def _latin1(text: object) -> str:
    """The PDF core fonts speak Latin-1; anything else becomes '?'."""
    return str(text if text is not None else "").encode("latin-1", "replace").decode("latin-1")


def _usd(amount: Decimal, currency: str = "USD") -> str:
    return f"${money_str(amount)}" if currency == "USD" else f"{money_str(amount)} {currency}"


def _facts(inv) -> list[tuple[str, str]]:
    facts = [
        ("Invoice", inv.number),
        ("Order", inv.order_number),
        ("Issued", inv.issued_at.strftime("%Y-%m-%d")),
        ("Due", inv.due_at.strftime("%Y-%m-%d")),
        ("Terms", inv.payment_terms.replace("_", " ").upper()),
        ("Status", inv.status.upper()),
    ]
    if inv.is_overdue:
        facts.append(("Overdue", f"{inv.days_overdue} days"))
    return facts


def _totals(inv) -> list[tuple[str, str]]:
    return [
        ("Subtotal", _usd(inv.subtotal, inv.currency)),
        ("Tax", _usd(inv.tax, inv.currency)),
        ("Total", _usd(inv.total, inv.currency)),
        ("Paid", _usd(inv.amount_paid, inv.currency)),
        ("Balance due", _usd(inv.balance, inv.currency)),
    ]


def render(inv) -> bytes:
    pdf = FPDF(format="letter", unit="pt")
    pdf.set_compression(False)
    pdf.set_title(_latin1(f"Invoice {inv.number}"))
    pdf.set_author(_latin1(inv.seller_name))
    pdf.set_creator("ReUp")
    pdf.set_margins(48, 48, 48)
    pdf.set_auto_page_break(True, margin=56)
    pdf.add_page()
    nl = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}

    pdf.set_font("Helvetica", "B", 20)
    pdf.cell(0, 26, _latin1(f"INVOICE {inv.number}"), **nl)
    pdf.set_font("Helvetica", "", 10)
    for label, value in _facts(inv):
        pdf.cell(70, 14, _latin1(label + ":"))
        pdf.cell(0, 14, _latin1(value), **nl)
    pdf.ln(10)

    top = pdf.get_y()
    width = (pdf.w - pdf.l_margin - pdf.r_margin) / 2
    for col, (title, lines, lic) in enumerate(
        (
            ("From", inv.seller_address, inv.seller_license_number),
            ("Bill to", inv.buyer_address, inv.buyer_license_number),
        )
    ):
        pdf.set_xy(pdf.l_margin + col * width, top)
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(width, 14, _latin1(title), new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_font("Helvetica", "", 10)
        for ln in [*lines, f"License {lic}" if lic else ""]:
            if ln:
                pdf.cell(width, 13, _latin1(ln), new_x=XPos.LEFT, new_y=YPos.NEXT)
    pdf.set_x(pdf.l_margin)
    pdf.ln(16)

    pdf.set_font("Helvetica", "", 9)
    with pdf.table(
        col_widths=(70, 200, 55, 70, 75),
        text_align=("LEFT", "LEFT", "RIGHT", "RIGHT", "RIGHT"),
        line_height=14,
        first_row_as_headings=True,
    ) as table:
        header = table.row()
        for h in ("SKU", "Product", "Qty", "Unit price", "Amount"):
            header.cell(h)
        for line in inv.lines:
            row = table.row()
            row.cell(_latin1(line.sku))
            row.cell(_latin1(line.product_name))
            row.cell(fmt_qty(line.quantity))
            row.cell(_latin1(_usd(line.unit_price, inv.currency)))
            row.cell(_latin1(_usd(line.line_total, inv.currency)))
    pdf.ln(8)
    for label, value in _totals(inv):
        pdf.set_font("Helvetica", "B" if label in ("Total", "Balance due") else "", 10)
        pdf.cell(pdf.w - pdf.l_margin - pdf.r_margin - 90, 15, _latin1(label), align="R")
        pdf.cell(90, 15, _latin1(value), align="R", **nl)

    if inv.payments:
        pdf.ln(10)
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(0, 15, "Payments received", **nl)
        pdf.set_font("Helvetica", "", 9)
        for p in inv.payments:
            ref = f" ref {p.reference}" if p.reference else ""
            pdf.cell(
                0,
                13,
                _latin1(f"{p.received_at:%Y-%m-%d}  {p.method.upper()}{ref}  {_usd(p.amount, inv.currency)}"),
                **nl,
            )
    return bytes(pdf.output())
