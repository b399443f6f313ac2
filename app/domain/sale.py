"""The canonical sale: the contract a POS posts to ReceiptDesk.

Published as JSON Schema (`receiptdesk schema sale`) and in the local API's OpenAPI document.
Money is a string or number with at most two decimals and is held as `Decimal`; times must carry a
UTC offset. A sale whose totals do not add up is rejected, naming the field that is off.

Bounds a grocery till never comes near, so a typo or a garbled number is refused, not stored: an
amount of one line (a price, a line total, a deposit, a line discount) is at most $99,999.99
(`LINE_MAX`); any other amount (a sale total, a tax, a tender, an order discount) at most
$999,999.99 (`SALE_MAX`).

No text field holds a full card number, a control character or a lone surrogate; names and free text
lose any bidirectional control (`app.domain.text`). Identifiers keep a strict ASCII pattern.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    model_validator,
)
from pydantic_core import PydanticCustomError

from app.domain.cards import REFUSAL, contains_card_number
from app.domain.channels import Channel, Language
from app.domain.money import ZERO, Money, quantize
from app.domain.text import UnsafeText, check_text, clean_text

LINE_MAX = Decimal("99999.99")
"""The largest amount of one line: its unit price, line total, deposit or a discount on it."""
SALE_MAX = Decimal("999999.99")
"""The largest amount of a whole sale: its subtotal, savings, total, a tax, a tender, an order discount."""


def _refuse(exc: UnsafeText) -> PydanticCustomError:
    return PydanticCustomError("unsafe_text", str(exc))


def _single_line(value: Any) -> Any:
    """Names and one-line text: controls and lone surrogates refused, bidi controls removed."""
    if not isinstance(value, str):
        return value
    try:
        return clean_text(value)
    except UnsafeText as exc:
        raise _refuse(exc) from None


def _multi_line(value: Any) -> Any:
    """Free text of several lines: as `_single_line`, but line feeds are kept."""
    if not isinstance(value, str):
        return value
    try:
        return clean_text(value, multiline=True)
    except UnsafeText as exc:
        raise _refuse(exc) from None


def _no_controls(value: Any) -> Any:
    """Identifiers: controls and lone surrogates refused (the pattern refuses everything else odd)."""
    if not isinstance(value, str):
        return value
    try:
        return check_text(value)
    except UnsafeText as exc:
        raise _refuse(exc) from None


def _no_card(value: str) -> str:
    if contains_card_number(value):
        raise PydanticCustomError("card_number", REFUSAL)
    return value


Identifier = Annotated[
    str,
    Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9._:/#-]*$"),
    BeforeValidator(_no_controls),
    AfterValidator(_no_card),
]
Text = Annotated[str, Field(min_length=1, max_length=200), BeforeValidator(_single_line), AfterValidator(_no_card)]
Name = Annotated[str, Field(max_length=100), BeforeValidator(_single_line), AfterValidator(_no_card)]
Cashier = Annotated[str, Field(max_length=64), BeforeValidator(_single_line), AfterValidator(_no_card)]
Email = Annotated[str, Field(max_length=254), BeforeValidator(_single_line), AfterValidator(_no_card)]
Phone = Annotated[str, Field(max_length=32), BeforeValidator(_single_line), AfterValidator(_no_card)]
Brand = Annotated[str, Field(min_length=1, max_length=30), BeforeValidator(_single_line), AfterValidator(_no_card)]
Paragraph = Annotated[str, Field(max_length=500), BeforeValidator(_multi_line), AfterValidator(_no_card)]
"""Free text of several lines."""


def _at_most(limit: Decimal) -> AfterValidator:
    def check(value: Decimal) -> Decimal:
        if value > limit:
            raise PydanticCustomError("less_than_equal", "must be at most {limit}", {"limit": str(limit)})
        return value

    return AfterValidator(check)


LineAmount = Annotated[Money, _at_most(LINE_MAX), Field(json_schema_extra={"maximum": float(LINE_MAX)})]
SaleAmount = Annotated[Money, _at_most(SALE_MAX), Field(json_schema_extra={"maximum": float(SALE_MAX)})]
Quantity = Annotated[
    Decimal,
    Field(gt=0, le=Decimal("100000"), max_digits=12, decimal_places=4),
    PlainSerializer(lambda v: str(v), return_type=str, when_used="json"),
]
Rate = Annotated[
    Decimal,
    Field(ge=0, le=1, max_digits=8, decimal_places=6),
    PlainSerializer(lambda v: str(v), return_type=str, when_used="json"),
]


class _Model(BaseModel):
    # Errors never carry the input: a refused value may be a card number or a customer's contact.
    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True, hide_input_in_errors=True)


class Unit(StrEnum):
    """Unit of a line's quantity: each, or a weight for produce, meat and deli."""

    EA = "ea"
    LB = "lb"
    KG = "kg"
    OZ = "oz"


class TenderType(StrEnum):
    """How the customer paid (one sale may have several tenders)."""

    CARD = "card"
    CASH = "cash"
    EBT_SNAP = "ebt_snap"
    EBT_CASH = "ebt_cash"
    GIFT = "gift"
    CHECK = "check"
    OTHER = "other"


class EntryMode(StrEnum):
    """How a card was read."""

    CHIP = "chip"
    CONTACTLESS = "contactless"
    SWIPE = "swipe"
    MANUAL = "manual"
    WALLET = "wallet"
    OTHER = "other"


class LineDiscount(_Model):
    """A discount on one line (sale price, digital coupon, BOGO share)."""

    description: Text = Field(description="What the customer sees, e.g. 'Club price'.")
    amount: LineAmount = Field(description="Amount taken off this line, positive; at most $99,999.99.")


class LineItem(_Model):
    """One line of the basket."""

    sku: Identifier | None = Field(default=None, description="The store's own item code.")
    upc: Annotated[str, Field(pattern=r"^\d{6,14}$")] | None = Field(
        default=None, description="UPC/EAN barcode digits."
    )
    name: Text = Field(description="Item name as printed on the receipt.")
    quantity: Quantity = Field(description="Count for `ea`, weight for `lb`/`kg`/`oz`.")
    unit: Unit = Field(default=Unit.EA, description="Unit of `quantity`.")
    unit_price: LineAmount = Field(description="Price per unit before discounts; at most $99,999.99.")
    line_total: LineAmount = Field(
        description="quantity x unit_price, rounded half-up to cents, before discounts; at most $99,999.99."
    )
    taxable: bool = Field(default=False, description="Whether sales tax applies to this line.")
    snap_eligible: bool = Field(default=False, description="Whether SNAP/EBT food benefits may pay for it.")
    bottle_deposit: LineAmount = Field(
        default=ZERO, description="Container deposit charged for this line; at most $99,999.99."
    )
    discounts: list[LineDiscount] = Field(default_factory=list, max_length=20)

    @property
    def discount_total(self) -> Decimal:
        return sum((d.amount for d in self.discounts), ZERO)

    @property
    def is_weighed(self) -> bool:
        return self.unit is not Unit.EA

    @model_validator(mode="after")
    def _line_total_matches(self) -> Self:
        expected = quantize(self.quantity * self.unit_price)
        if abs(expected - self.line_total) > Decimal("0.01"):
            raise ValueError(f"line_total {self.line_total} does not match quantity x unit_price ({expected})")
        if self.discount_total > self.line_total:
            raise ValueError("discounts exceed the line total")
        return self


class Discount(_Model):
    """An order-level discount or promotion (e.g. '$5 off $50')."""

    description: Text
    amount: SaleAmount = Field(description="Amount taken off the order; at most $999,999.99.")
    promotion_code: Identifier | None = None


class Coupon(_Model):
    """A coupon scanned or clipped for this sale."""

    code: Identifier
    description: Text
    amount: SaleAmount = Field(description="Amount the coupon takes off; at most $999,999.99.")


class Tax(_Model):
    """One tax line."""

    name: Text = Field(description="e.g. 'State sales tax'.")
    rate: Rate = Field(description="As a fraction: 0.0625 for 6.25%.")
    amount: SaleAmount = Field(description="Tax charged; at most $999,999.99.")


class Tender(_Model):
    """One payment. Card tenders carry brand and last four only, never the card number."""

    type: TenderType
    amount: SaleAmount = Field(description="Amount tendered with this payment; at most $999,999.99.")
    card_brand: Brand | None = None
    last4: Annotated[str, Field(pattern=r"^\d{4}$")] | None = Field(default=None, description="Last four digits.")
    entry_mode: EntryMode | None = Field(default=None, description="How the card was read; printed on the receipt.")
    auth_code: Annotated[str, Field(pattern=r"^[A-Za-z0-9]{1,12}$"), AfterValidator(_no_card)] | None = Field(
        default=None, description="The issuer's authorisation code (letters and digits); printed on the receipt."
    )
    change_due: SaleAmount = Field(default=ZERO, description="Change handed back (cash); at most $999,999.99.")

    @model_validator(mode="after")
    def _change_only_from_cash(self) -> Self:
        if self.change_due > self.amount:
            raise ValueError("change_due exceeds the amount tendered")
        if self.change_due and self.type not in (TenderType.CASH, TenderType.EBT_CASH, TenderType.CHECK):
            raise ValueError(f"a {self.type.value} tender gives no change")
        return self


class Loyalty(_Model):
    """Loyalty account state after this sale."""

    member_id: Identifier
    points_earned: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    points_redeemed: Annotated[int, Field(ge=0, le=10_000_000)] = 0
    balance: Annotated[int, Field(ge=0, le=100_000_000)] | None = None
    balance_pending: bool = Field(default=False, description="True when the balance is not yet confirmed.")


class PromotionNotice(_Model):
    """A promotion printed at the bottom of the receipt (a coupon for next time)."""

    title: Text
    text: Paragraph = Field(default="", description="May run over several lines (line feeds).")
    code: Identifier | None = None
    expires_on: date | None = None


class CustomerInfo(_Model):
    """What the POS knows of the customer; every field optional."""

    name: Name | None = None
    email: Email | None = None
    phone: Phone | None = None
    loyalty_id: Identifier | None = None
    language: Language | None = None
    channels: list[Channel] | None = Field(
        default=None, description="Channels chosen at the till; empty list means no receipt."
    )


class Sale(_Model):
    """One completed sale, as the POS reports it."""

    sale_id: Identifier = Field(description="Unique per store; the same id again is the same sale.")
    store_id: Identifier
    lane: Identifier
    cashier: Cashier | None = None
    occurred_at: AwareDatetime = Field(description="When the sale completed, with its UTC offset.")
    currency: Literal["USD"] = "USD"
    order_id: Identifier | None = Field(default=None, description="E-commerce order id, to correlate sources.")
    order_name: Cashier | None = Field(
        default=None, description="The shop's own name of the order, as its customer knows it (e.g. `#1001`)."
    )
    items: list[LineItem] = Field(min_length=1, max_length=500)
    discounts: list[Discount] = Field(default_factory=list, max_length=50)
    coupons: list[Coupon] = Field(default_factory=list, max_length=50)
    taxes: list[Tax] = Field(default_factory=list, max_length=10)
    subtotal: SaleAmount = Field(
        description="Items less every discount and coupon, before tax and deposits; at most $999,999.99."
    )
    total_savings: SaleAmount = Field(
        description="Sum of every line discount, order discount and coupon; at most $999,999.99."
    )
    total: SaleAmount = Field(description="subtotal + taxes + bottle deposits; at most $999,999.99.")
    tenders: list[Tender] = Field(min_length=1, max_length=10)
    loyalty: Loyalty | None = None
    promotions: list[PromotionNotice] = Field(default_factory=list, max_length=10)
    customer: CustomerInfo | None = None

    @property
    def items_total(self) -> Decimal:
        return sum((i.line_total for i in self.items), ZERO)

    @property
    def discount_total(self) -> Decimal:
        lines = sum((i.discount_total for i in self.items), ZERO)
        return lines + sum((d.amount for d in self.discounts), ZERO) + sum((c.amount for c in self.coupons), ZERO)

    @property
    def tax_total(self) -> Decimal:
        return sum((t.amount for t in self.taxes), ZERO)

    @property
    def deposit_total(self) -> Decimal:
        return sum((i.bottle_deposit for i in self.items), ZERO)

    @property
    def change_due(self) -> Decimal:
        return sum((t.change_due for t in self.tenders), ZERO)

    def inconsistencies(self) -> list[tuple[str, str]]:
        """Each total that does not add up, as (field, message); empty for a consistent sale."""
        found: list[tuple[str, str]] = []
        subtotal = self.items_total - self.discount_total
        if subtotal != self.subtotal:
            found.append(("subtotal", f"expected {subtotal} (items less discounts and coupons), got {self.subtotal}"))
        if self.discount_total != self.total_savings:
            found.append(("total_savings", f"expected {self.discount_total}, got {self.total_savings}"))
        total = self.subtotal + self.tax_total + self.deposit_total
        if total != self.total:
            found.append(("total", f"expected {total} (subtotal + taxes + deposits), got {self.total}"))
        paid = sum((t.amount for t in self.tenders), ZERO) - self.change_due
        if paid != self.total:
            found.append(("tenders", f"they come to {paid} after change, but the total is {self.total}"))
        return found
