"""Render an InvoiceDTO as a PDF.

Uses fpdf2 (pure Python, pin `fpdf2==2.8.9`) when installed; otherwise a small built-in writer
produces a plain but valid one-font PDF, so invoices never fail to render. Content streams are
left uncompressed: invoices are small and their text stays searchable.
"""

from __future__ import annotations

from decimal import Decimal

from reup_app.services.common import fmt_qty, money_str

try:  # pragma: no cover - exercised by whichever branch the environment has
    from fpdf import FPDF
    from fpdf.enums import XPos, YPos
except ImportError:  # pragma: no cover
    FPDF = None


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
    if FPDF is not None:
        return _render_fpdf(inv)
    return render_plain(inv)


def _render_fpdf(inv) -> bytes:
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


# --------------------------------------------------------------------------------------------
# Dependency-free fallback
# --------------------------------------------------------------------------------------------


def _pdf_escape(text: str) -> str:
    return _latin1(text).replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


def plain_lines(inv) -> list[str]:
    out = [f"INVOICE {inv.number}", ""]
    out += [f"{label}: {value}" for label, value in _facts(inv)]
    out += ["", "From:", *inv.seller_address]
    if inv.seller_license_number:
        out.append(f"License {inv.seller_license_number}")
    out += ["", "Bill to:", *inv.buyer_address]
    if inv.buyer_license_number:
        out.append(f"License {inv.buyer_license_number}")
    out += ["", f"{'SKU':<16} {'Product':<34} {'Qty':>9} {'Unit':>12} {'Amount':>13}"]
    for ln in inv.lines:
        out.append(
            f"{ln.sku[:16]:<16} {ln.product_name[:34]:<34} {fmt_qty(ln.quantity):>9} "
            f"{_usd(ln.unit_price, inv.currency):>12} {_usd(ln.line_total, inv.currency):>13}"
        )
    out.append("")
    out += [f"{label:>74}  {value:>13}" for label, value in _totals(inv)]
    if inv.payments:
        out += ["", "Payments received:"]
        out += [
            f"{p.received_at:%Y-%m-%d}  {p.method.upper()}  {p.reference or ''}  {_usd(p.amount, inv.currency)}"
            for p in inv.payments
        ]
    return out


def render_plain(inv) -> bytes:
    return minimal_pdf(plain_lines(inv), title=f"Invoice {inv.number}")


def minimal_pdf(lines: list[str], *, title: str = "", per_page: int = 56) -> bytes:
    """A valid PDF 1.4 of monospaced text lines (Courier, US letter), paginated."""
    pages = [lines[i : i + per_page] for i in range(0, max(len(lines), 1), per_page)] or [[]]
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    catalog = add(b"")  # placeholders filled below
    pages_obj = add(b"")
    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Courier /Encoding /WinAnsiEncoding >>")
    kids = []
    for page_lines in pages:
        ops = ["BT", "/F1 9 Tf", "11 TL", "50 750 Td"]
        for ln in page_lines:
            ops.append(f"({_pdf_escape(ln)}) Tj T*")
        ops.append("ET")
        stream = "\n".join(ops).encode("latin-1")
        content = add(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
        kids.append(
            add(
                b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] "
                b"/Resources << /Font << /F1 %d 0 R >> >> "
                b"/Contents %d 0 R >>" % (pages_obj, font, content)
            )
        )
    objects[catalog - 1] = b"<< /Type /Catalog /Pages %d 0 R >>" % pages_obj
    objects[pages_obj - 1] = (
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % k for k in kids) + b"] /Count %d >>" % len(kids)
    )
    info = add(b"<< /Title (" + _pdf_escape(title).encode("latin-1") + b") /Producer (ReUp) >>")

    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for i, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % i + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for off in offsets:
        out += b"%010d 00000 n \n" % off
    out += b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        catalog,
        info,
        xref,
    )
    return bytes(out)
