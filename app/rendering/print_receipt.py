"""The paper receipt: the same view model as the e-mail and SMS, laid out for a till roll.

`layout_receipt` turns a `ReceiptSummary` (see `app.rendering.summary`) into a `PrintDocument`
for 80 mm (48 columns) or 58 mm (32 columns) paper: store header bold and double height, one row
per item with its quantity or weight, savings, totals, tenders (brand and last four only),
loyalty points, promotions, the sale id as CODE128 and/or QR (a CODE128 too wide for the paper
becomes the QR code alone), and the footer. Amounts end two
columns before the edge; the last columns hold the flags (`T` taxed, `S` SNAP, explained by legends),
as on the plain-text receipt. A line's bottle deposit is a row under it; a card tender's entry mode
and authorisation code a row under the tender.
Every line fits the width: long names wrap, a word longer than the line is cut. No control
character of any text (the settings' store name and footer are typed by people) reaches the printer,
where it would be a command (`ESC @` resets it, `DLE EOT` asks its status, `GS V` cuts).
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable

from app.domain.channels import Language
from app.domain.code128 import encodable, module_width_for, plan
from app.domain.printdoc import (
    Align,
    Barcode,
    Block,
    Cut,
    Feed,
    Paper,
    PrintDocument,
    QrCode,
    Raster,
    Rule,
    SaleCode,
    TextLine,
)
from app.domain.receipt import StoreProfile
from app.domain.sale import Sale
from app.domain.text import printable
from app.rendering.formatting import text_row
from app.rendering.summary import ReceiptSummary, Row, build_summary

SALE_CODE_PREFIX = "RD-"
"""Printed before the sale id in the barcode/QR, so a scanner tells a receipt from a product or a loyalty card."""


def print_receipt(
    sale: Sale,
    store: StoreProfile,
    language: Language,
    *,
    paper: Paper = Paper.MM80,
    codes: SaleCode = SaleCode.BARCODE,
    dpi: int = 203,
    logo: Raster | None = None,
) -> PrintDocument:
    """The printed form of `sale` in `language` for `paper` on a head of `dpi`, under the store's `logo`."""
    return layout_receipt(build_summary(sale, store, language), paper=paper, codes=codes, dpi=dpi, logo=logo)


def layout_receipt(
    s: ReceiptSummary,
    *,
    paper: Paper = Paper.MM80,
    codes: SaleCode = SaleCode.BARCODE,
    dpi: int = 203,
    logo: Raster | None = None,
) -> PrintDocument:
    """Lay `s` out for `paper` on a head of `dpi`; `codes` picks how the sale id is printed for scanning.
    `logo` (`app.rendering.print_logo`) prints first, when it fits the paper."""
    out = _Lines(paper.columns)
    t = s.t
    if logo is not None and logo.width_bytes * 8 <= paper.dots_at(dpi):
        out.blocks.extend((logo, Feed()))
    out.centered(s.store.name, bold=True, double_height=True)
    for part in (s.store.address, s.store.phone, s.store.website):
        if part:
            out.centered(part)
    out.feed()
    out.text(s.when)
    for meta in s.meta:
        out.text(meta)
    out.rule()
    for line in s.lines:
        flag = line.flag
        if line.detail and len(line.label) + len(line.amount) < out.columns - 2:
            out.row(line.label, line.amount, flag=flag)
        else:
            out.row(line.name, line.amount, flag=flag)
            if line.detail:
                out.row(line.detail, indent=2)
        for saving in line.savings:
            out.row(saving.label, saving.amount, indent=2)
        if line.deposit:
            out.row(line.deposit.label, line.deposit.amount, indent=2)
    out.text(s.item_count)
    out.rule()
    out.rows(s.discounts)
    out.row(t.subtotal, s.subtotal)
    out.rows(s.taxes)
    if s.has_taxed:
        out.text(f"{t.taxed_marker} = {t.taxed_legend}")
    if s.deposits:
        out.row(t.deposits, s.deposits)
    out.row(t.total.upper(), s.total, bold=True, double_height=True)
    if s.savings:
        out.feed()
        out.centered(s.savings, bold=True)
    out.feed()
    out.text(t.payment.upper(), bold=True)
    out.rows(s.tenders)
    if s.change_due:
        out.row(t.change_due, s.change_due)
    if s.loyalty:
        out.feed()
        out.text(t.rewards.upper(), bold=True)
        out.rows(s.loyalty.rows)
    if s.has_snap:
        out.feed()
        out.text(f"S = {t.snap_legend}")
    if s.promotions:
        out.feed()
        out.text(t.promotions.upper(), bold=True)
        for promo in s.promotions:
            out.text(promo.title, bold=True)
            for part in (promo.text, promo.code, promo.expires):
                if part:
                    out.text(part)
    out.rule()
    out.blocks.extend(_codes(s.sale_id, codes, paper.dots_at(dpi)))
    out.centered(t.thanks, bold=True)
    out.feed()
    for part in (s.footer.not_yours, s.footer.preferences, s.footer.store_footer):
        if part:
            out.text(part)
    out.blocks.append(Cut())
    return PrintDocument(tuple(out.blocks), out.columns)


def printer_check_page(
    store: StoreProfile, when: str, *, paper: Paper = Paper.MM80, codes: SaleCode = SaleCode.BARCODE, dpi: int = 203
) -> PrintDocument:
    """The page the set-up prints to check the printer: the store header as receipts print it, a ruler
    as wide as the paper, the chosen sale codes (for a scanner test) and a cut."""
    out = _Lines(paper.columns)
    out.centered(store.name or "ReceiptDesk", bold=True, double_height=True)
    for part in (store.address, store.phone):
        if part:
            out.centered(part)
    out.rule()
    out.centered("ReceiptDesk printer test", bold=True)
    out.text(when)
    out.text(f"{paper.value} mm paper, {paper.columns} characters a line:")
    out.text(("1234567890" * 5)[: paper.columns])
    out.text("If every line is straight and whole, the printer is ready.")
    out.rule()
    out.blocks.extend(_codes("TEST", codes, paper.dots_at(dpi)))
    out.blocks.append(Cut())
    return PrintDocument(tuple(out.blocks), out.columns)


def sale_code(sale_id: str) -> str:
    """What the receipt's barcode and QR code hold: `RD-<sale id>`."""
    return SALE_CODE_PREFIX + sale_id


def _codes(sale_id: str, codes: SaleCode, dots: int) -> list[Block]:
    """The sale id's codes. A barcode gets the widest bars at which it fits the paper, quiet zones
    included; one that fits at no width (or holds a character CODE128 cannot) is left out and the QR
    code (same value) printed instead, since a printer silently drops a barcode wider than its paper."""
    blocks: list[Block] = []
    data = sale_code(sale_id)
    qr = codes in (SaleCode.QR, SaleCode.BOTH)
    if codes in (SaleCode.BARCODE, SaleCode.BOTH):
        width = module_width_for(plan(data), dots) if encodable(data) else None
        if width is not None:
            blocks.append(Barcode(data, module_width=width))
        else:
            qr = True
    if qr:
        blocks.append(QrCode(data))
    if blocks:
        blocks.append(Feed())
    return blocks


def fit(text: str, width: int, *, indent: int = 0) -> list[str]:
    """`text` on lines of at most `width` characters: wrapped on words, a longer word cut."""
    pad = " " * indent
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(
            textwrap.wrap(
                paragraph,
                width,
                initial_indent=pad,
                subsequent_indent=pad,
                break_long_words=True,
                break_on_hyphens=False,
            )
            or [""]
        )
    return lines


class _Lines:
    """Collects blocks, keeping every text line within `columns`."""

    def __init__(self, columns: int) -> None:
        self.columns = columns
        self.blocks: list[Block] = []

    def _add(self, lines: Iterable[str], *, bold: bool = False, double_height: bool = False) -> None:
        for line in lines:
            for piece in fit(line, self.columns) if len(line) > self.columns else [line]:
                self.blocks.append(TextLine(piece.rstrip(), bold=bold, double_height=double_height))

    def text(self, text: str, *, bold: bool = False) -> None:
        self._add(fit(printable(text), self.columns), bold=bold)

    def centered(self, text: str, *, bold: bool = False, double_height: bool = False) -> None:
        for line in fit(printable(text), self.columns):
            self.blocks.append(TextLine(line, bold=bold, double_height=double_height, align=Align.CENTER))

    def row(
        self,
        left: str,
        right: str = "",
        *,
        flag: str = "",
        indent: int = 0,
        bold: bool = False,
        double_height: bool = False,
    ) -> None:
        """`left` with `right` ending two columns before the edge, `flag` in the last column."""
        rendered = text_row(printable(left), printable(right), flag=flag, indent=indent, width=self.columns)
        self._add(rendered.split("\n"), bold=bold, double_height=double_height)

    def rows(self, rows: Iterable[Row]) -> None:
        for r in rows:
            self.row(r.label, r.amount)
            if r.detail:
                self.row(r.detail, indent=2)

    def rule(self) -> None:
        self.blocks.append(Rule())

    def feed(self) -> None:
        self.blocks.append(Feed())
