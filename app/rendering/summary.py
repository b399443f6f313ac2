"""The unified summary: one view model of a sale that every receipt template reads.

`build_summary` turns a `Sale`, the `StoreProfile` and a `Language` into frozen dataclasses whose
strings are already formatted for display, labels included, so templates only lay them out.
Cards appear as brand and last four only (`mask_card`); nothing else of a tender is shown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from app.domain.barcodes import RECEIPT_PREFIX
from app.domain.cards import mask_card
from app.domain.channels import Language
from app.domain.receipt import StoreProfile
from app.domain.sale import EntryMode, LineItem, Loyalty, PromotionNotice, Sale, Tender, TenderType, Unit
from app.rendering.formatting import (
    count,
    format_date,
    format_datetime,
    format_short_datetime,
    money,
    percent,
    quantity_detail,
)
from app.rendering.i18n import Labels, catalogue


@dataclass(frozen=True, slots=True)
class Row:
    """A label and its amount, both ready to print: (`IL sales tax 6.25%`, `$0.51`).

    `detail` is a second line under the label when the row has one: a card tender's entry mode and
    authorisation code (`Chip · Auth 012345`)."""

    label: str
    amount: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class LineView:
    """One basket line: `Bananas`, `2.35 lb @ $0.59/lb`, `$1.39`, its savings and its deposit underneath.

    `taxed` marks a line sales tax applies to (`T`, explained by the totals' legend); `deposit` is the
    container deposit charged on it (`Bottle deposit`, `$0.60`), shown under the line as well as in
    the totals."""

    name: str
    detail: str
    amount: str
    snap: bool
    savings: tuple[Row, ...]
    taxed: bool = False
    deposit: Row | None = None

    @property
    def flag(self) -> str:
        """The marks in the flag column of a monospace receipt: `T` taxed, `S` SNAP-eligible, `TS` both."""
        return ("T" if self.taxed else "") + ("S" if self.snap else "")

    @property
    def label(self) -> str:
        """Name and pricing detail on one line: `Bananas 2.35 lb @ $0.59/lb`."""
        return f"{self.name} {self.detail}" if self.detail else self.name


@dataclass(frozen=True, slots=True)
class LoyaltyView:
    """Points earned, redeemed and balance, plus a one-line form for SMS."""

    rows: tuple[Row, ...]
    short: str
    pending: bool


@dataclass(frozen=True, slots=True)
class PromotionView:
    """A promotion printed for next time."""

    title: str
    text: str
    code: str
    expires: str


@dataclass(frozen=True, slots=True)
class StoreView:
    """Who issued the receipt."""

    name: str
    address: str
    phone: str
    website: str


@dataclass(frozen=True, slots=True)
class FooterView:
    """'Not your receipt?', how to change preferences, and the store's own footer.

    `preferences_before` + `preferences_url` + `preferences_after` is `preferences` split around
    the address, so HTML can link it; `preferences_href` is set only for an http(s) address.
    Without an address the whole sentence is in `preferences_before`.
    """

    not_yours: str
    preferences: str
    preferences_before: str
    preferences_url: str
    preferences_href: str
    preferences_after: str
    store_footer: str


@dataclass(frozen=True, slots=True)
class ReceiptSummary:
    """Everything a receipt shows, formatted for one language."""

    language: str
    t: Labels
    subject: str
    store: StoreView
    sale_id: str
    when: str
    when_short: str
    meta: tuple[str, ...]
    lines: tuple[LineView, ...]
    item_count: str
    discounts: tuple[Row, ...]
    subtotal: str
    taxes: tuple[Row, ...]
    tax_total: str
    deposits: str
    total: str
    savings: str
    loyalty: LoyaltyView | None
    tenders: tuple[Row, ...]
    change_due: str
    has_snap: bool
    has_taxed: bool
    promotions: tuple[PromotionView, ...]
    footer: FooterView
    return_code: str = ""
    """`RD-<sale id>`, what the paper receipt's barcode holds and the e-mail's barcode image shows."""


def build_summary(sale: Sale, store: StoreProfile, language: Language) -> ReceiptSummary:
    """The display form of `sale` in `language`; empty strings mark what is absent."""
    labels = catalogue(language)
    lines = tuple(_line(item, labels) for item in sale.items)
    discounts = tuple(Row(one_line(d.description), money(d.amount, negative=True)) for d in sale.discounts) + tuple(
        Row(labels["coupon"].format(code=c.code, description=one_line(c.description)), money(c.amount, negative=True))
        for c in sale.coupons
    )
    taxes = tuple(
        Row(labels["tax"].format(name=one_line(t.name), rate=percent(t.rate)), money(t.amount)) for t in sale.taxes
    )
    meta = [labels["sale"].format(sale_id=sale.sale_id), labels["lane"].format(lane=sale.lane)]
    if sale.cashier and sale.cashier.strip():
        meta.append(labels["cashier"].format(cashier=one_line(sale.cashier)))
    total = money(sale.total)
    return ReceiptSummary(
        language=language.value,
        t=Labels(labels),
        subject=one_line(labels["subject"].format(store=store.name, total=total)),
        store=StoreView(one_line(store.name), one_line(store.address), one_line(store.phone), store.website or ""),
        sale_id=sale.sale_id,
        when=format_datetime(sale.occurred_at, labels),
        when_short=format_short_datetime(sale.occurred_at, labels),
        meta=tuple(meta),
        lines=lines,
        item_count=_item_count(sale.items, labels),
        discounts=discounts,
        subtotal=money(sale.subtotal),
        taxes=taxes,
        tax_total=money(sale.tax_total) if sale.taxes else "",
        deposits=money(sale.deposit_total) if sale.deposit_total else "",
        total=total,
        savings=labels["you_saved"].format(amount=money(sale.total_savings)) if sale.total_savings else "",
        loyalty=_loyalty(sale.loyalty, labels) if sale.loyalty else None,
        tenders=tuple(_tender(t, labels) for t in sale.tenders),
        change_due=money(sale.change_due) if sale.change_due else "",
        has_snap=any(line.snap for line in lines),
        has_taxed=any(line.taxed for line in lines),
        promotions=tuple(_promotion(p, labels) for p in sale.promotions),
        footer=_footer(store, labels),
        return_code=RECEIPT_PREFIX + sale.sale_id,
    )


def one_line(text: str) -> str:
    """`text` with every run of whitespace (newlines included) made one space: receipts are rows."""
    return " ".join(text.split())


def _line(item: LineItem, labels: Mapping[str, str]) -> LineView:
    return LineView(
        name=one_line(item.name),
        detail=quantity_detail(item.quantity, item.unit, item.unit_price),
        amount=money(item.line_total),
        snap=item.snap_eligible,
        savings=tuple(Row(one_line(d.description), money(d.amount, negative=True)) for d in item.discounts),
        taxed=item.taxable,
        deposit=Row(labels["deposit_line"], money(item.bottle_deposit)) if item.bottle_deposit else None,
    )


def _item_count(items: list[LineItem], labels: Mapping[str, str]) -> str:
    """Articles in the basket: each unit of a counted line, one per weighed line."""
    n = sum(int(i.quantity) if i.unit is Unit.EA and i.quantity % 1 == 0 else 1 for i in items)
    return labels["item_count_one" if n == 1 else "item_count_other"].format(count=count(n))


def _loyalty(loyalty: Loyalty, labels: Mapping[str, str]) -> LoyaltyView:
    rows = [Row(labels["points_earned"], count(loyalty.points_earned))]
    change = f"+{count(loyalty.points_earned)}"
    if loyalty.points_redeemed:
        rows.append(Row(labels["points_redeemed"], f"-{count(loyalty.points_redeemed)}"))
        change += f" -{count(loyalty.points_redeemed)}"
    if loyalty.balance is None:
        return LoyaltyView(tuple(rows), labels["points_short"].format(change=change), loyalty.balance_pending)
    balance = count(loyalty.balance)
    if loyalty.balance_pending:
        balance += f" ({labels['pending']})"
    rows.append(Row(labels["points_balance"], balance))
    short = labels["points_short_balance"].format(change=change, balance=balance)
    return LoyaltyView(tuple(rows), short, loyalty.balance_pending)


def _tender(tender: Tender, labels: Mapping[str, str]) -> Row:
    """Brand and last four only: `Visa •••• 1234`, `EBT SNAP •••• 9876`, `Cash`; under a card, how it
    was read and the authorisation code when the POS sent them (`Tap · Auth 0A12B3`)."""
    if tender.type is TenderType.CARD:
        brand = tender.card_brand or labels["tender_card"]
    else:
        brand = labels[f"tender_{tender.type.value}"]
    return Row(mask_card(brand, tender.last4), money(tender.amount), tender_detail(tender, labels))


def tender_detail(tender: Tender, labels: Mapping[str, str]) -> str:
    """`Chip · Auth 012345`, either part alone, or empty: what a card slip says of how it was paid."""
    parts = []
    if tender.entry_mode is not None and tender.entry_mode is not EntryMode.OTHER:
        parts.append(labels[f"entry_{tender.entry_mode.value}"])
    if tender.auth_code:
        parts.append(labels["auth_code"].format(code=tender.auth_code))
    return " · ".join(parts)


def _promotion(promotion: PromotionNotice, labels: Mapping[str, str]) -> PromotionView:
    return PromotionView(
        title=one_line(promotion.title),
        text=promotion.text,
        code=labels["promo_code"].format(code=promotion.code) if promotion.code else "",
        expires=labels["promo_expires"].format(date=format_date(promotion.expires_on, labels))
        if promotion.expires_on
        else "",
    )


def _footer(store: StoreProfile, labels: Mapping[str, str]) -> FooterView:
    url = (store.preferences_url or "").strip()
    if url:
        before, _, after = labels["preferences_url"].partition("{url}")
        preferences = labels["preferences_url"].format(url=url)
    else:
        before, after = labels["preferences_desk"], ""
        preferences = before
    phone = store.phone.strip()
    return FooterView(
        not_yours=labels["not_yours"].format(phone=phone) if phone else labels["not_yours_short"],
        preferences=preferences,
        preferences_before=before,
        preferences_url=url,
        preferences_href=url if url.startswith(("https://", "http://")) else "",
        preferences_after=after,
        store_footer=store.footer.strip(),
    )
