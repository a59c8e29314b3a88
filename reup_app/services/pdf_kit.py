"""The building blocks every printable document (invoice, METRC manifest) is laid out with.

fpdf2 (pinned in pyproject.toml) with the core fonts; content streams are left uncompressed so the
documents stay small and their text searchable.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import TypedDict

from fpdf import FPDF
from fpdf.enums import XPos, YPos

from reup_app.services.common import money_str


class _LineBreak(TypedDict):
    """cell() keywords that move to the start of the next line (typed, so `**NEXT_LINE` checks)."""

    new_x: XPos
    new_y: YPos


NEXT_LINE: _LineBreak = {"new_x": XPos.LMARGIN, "new_y": YPos.NEXT}


def latin1(text: object) -> str:
    """The PDF core fonts speak Latin-1; anything else becomes '?'."""
    return str(text if text is not None else "").encode("latin-1", "replace").decode("latin-1")


def usd(amount: Decimal, currency: str = "USD") -> str:
    return f"${money_str(amount)}" if currency == "USD" else f"{money_str(amount)} {currency}"


def new_document(title: str, author: str) -> FPDF:
    """A letter-size page with ReUp's margins, ready for content."""
    pdf = FPDF(format="letter", unit="pt")
    pdf.set_compression(False)
    pdf.set_title(latin1(title))
    pdf.set_author(latin1(author))
    pdf.set_creator("ReUp")
    pdf.set_margins(48, 48, 48)
    pdf.set_auto_page_break(True, margin=56)
    pdf.add_page()
    return pdf


def heading(pdf: FPDF, text: str, size: int = 20) -> None:
    pdf.set_font("Helvetica", "B", size)
    pdf.cell(0, size + 6, latin1(text), **NEXT_LINE)


def facts(pdf: FPDF, pairs: Iterable[tuple[str, str]], label_width: int = 70) -> None:
    """Label: value lines under the heading."""
    pdf.set_font("Helvetica", "", 10)
    for label, value in pairs:
        pdf.cell(label_width, 14, latin1(label + ":"))
        pdf.cell(0, 14, latin1(value), **NEXT_LINE)
    pdf.ln(10)


def parties(pdf: FPDF, columns: Sequence[tuple[str, Sequence[str]]]) -> None:
    """Side-by-side address blocks, e.g. ("From", lines) and ("Bill to", lines)."""
    top = pdf.get_y()
    width = (pdf.w - pdf.l_margin - pdf.r_margin) / max(1, len(columns))
    bottom = top
    for col, (title, lines) in enumerate(columns):
        pdf.set_xy(pdf.l_margin + col * width, top)
        pdf.set_font("Helvetica", "B", 10)
        pdf.cell(width, 14, latin1(title), new_x=XPos.LEFT, new_y=YPos.NEXT)
        pdf.set_font("Helvetica", "", 10)
        for line in lines:
            if line:
                pdf.cell(width, 13, latin1(line), new_x=XPos.LEFT, new_y=YPos.NEXT)
        bottom = max(bottom, pdf.get_y())
    pdf.set_xy(pdf.l_margin, bottom)
    pdf.ln(16)


def table(
    pdf: FPDF,
    headings: Sequence[str],
    rows: Iterable[Sequence[str]],
    widths: Sequence[int],
    align: Sequence[str],
    font_size: int = 9,
) -> None:
    pdf.set_font("Helvetica", "", font_size)
    line_height = font_size + 5
    with pdf.table(
        col_widths=tuple(widths), text_align=tuple(align), line_height=line_height, first_row_as_headings=True
    ) as t:
        header = t.row()
        for h in headings:
            header.cell(latin1(h))
        for values in rows:
            row = t.row()
            for value in values:
                row.cell(latin1(value))
    pdf.ln(8)


def right_aligned_totals(pdf: FPDF, pairs: Iterable[tuple[str, str]], bold: Iterable[str] = ()) -> None:
    strong = set(bold)
    for label, value in pairs:
        pdf.set_font("Helvetica", "B" if label in strong else "", 10)
        pdf.cell(pdf.w - pdf.l_margin - pdf.r_margin - 90, 15, latin1(label), align="R")
        pdf.cell(90, 15, latin1(value), align="R", **NEXT_LINE)


def output(pdf: FPDF) -> bytes:
    return bytes(pdf.output())
