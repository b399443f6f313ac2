"""Sending a receipt from the till: the customer's choice becomes queued deliveries.

Whose receipt it is: a customer the cashier looked up, else the sale's own customer (unless the
customer said "not me"), else whoever owns the contact typed (created when nobody does). That
customer gets the contact typed as their newest, their choice remembered when they asked, and the
deliveries are queued through `queue_receipt` with the SMS consent exactly as it was shown.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from app.domain.channels import Channel, Language
from app.domain.consent import ConsentSource
from app.domain.contacts import normalise_email, normalise_phone
from app.domain.errors import ConfigurationError, NotFound, ValidationFailed
from app.domain.text_limits import DEFAULT_LIMITS, TextLimits
from app.services.kiosk.views import DeliveryView, queued_view
from app.services.queueing import CONTACT_KIND, AuditNote, Send, SmsConsent, queue_receipt, recipient_for
from app.storage import consents, customers, outbox, sales
from app.storage.database import UnitOfWork

CUSTOMER_SCREEN = "kiosk-customer"
"""`SendRequest.source` of the customer screen."""
CASHIER = "kiosk-cashier"
"""`SendRequest.source` of the cashier's sale panel."""


class ReceiptChoice(StrEnum):
    """What the customer asked for at the till."""

    EMAIL = "email"
    SMS = "sms"
    BOTH = "both"
    WHATSAPP = "whatsapp"
    PRINT = "print"
    NONE = "none"

    @property
    def channels(self) -> tuple[Channel, ...]:
        """The contact channels this choice queues (print goes to the lane's printer, see `KioskService.send`)."""
        return {
            ReceiptChoice.EMAIL: (Channel.EMAIL,),
            ReceiptChoice.SMS: (Channel.SMS,),
            ReceiptChoice.BOTH: (Channel.EMAIL, Channel.SMS),
            ReceiptChoice.WHATSAPP: (Channel.WHATSAPP,),
        }.get(self, ())

    @classmethod
    def from_channels(cls, channels: Sequence[Channel]) -> ReceiptChoice | None:
        """The choice matching stored preferred channels, or None when they name none we send."""
        wanted = set(channels)
        if {Channel.EMAIL, Channel.SMS} <= wanted:
            return cls.BOTH
        if Channel.EMAIL in wanted:
            return cls.EMAIL
        if Channel.SMS in wanted:
            return cls.SMS
        return None


@dataclass(frozen=True, slots=True)
class SendRequest:
    """How to send one receipt from the kiosk.

    `email`/`phone` are what was typed (None: use the contact on file). `consent_text` is the
    SMS (or WhatsApp) consent exactly as shown; a text is refused without it. `customer_id` is a customer the
    cashier looked up; `not_me` says the customer identified with the sale is someone else.
    """

    choice: ReceiptChoice
    email: str | None = None
    phone: str | None = None
    consent_text: str | None = None
    remember: bool = False
    customer_id: int | None = None
    not_me: bool = False
    language: Language | None = None
    source: str = "kiosk"


@dataclass(frozen=True, slots=True)
class SendOutcome:
    """What a kiosk send did: the deliveries it queued (none for print or no receipt)."""

    receipt_id: str
    choice: ReceiptChoice
    deliveries: tuple[DeliveryView, ...]


@dataclass(frozen=True, slots=True)
class CheckedRequest:
    """A send request that can go ahead: its contacts normalised, the channels it queues."""

    request: SendRequest
    email: str | None
    phone: str | None
    targets: tuple[Channel, ...]


def check_request(request: SendRequest, routing: Mapping[Channel, str]) -> CheckedRequest:
    """Refuse, before any database work, a request that cannot be sent.

    Raises `ValidationFailed` (a malformed contact, SMS without consent) or `ConfigurationError`
    (no provider for a channel).
    """
    channels = request.choice.channels
    # "Print" goes to the lane's receipt printer when one is set up; otherwise the POS prints.
    printing = request.choice is ReceiptChoice.PRINT and Channel.PRINT in routing
    email = normalise_email(request.email) if request.email else None
    phone = normalise_phone(request.phone) if request.phone else None
    if Channel.SMS in channels and not (request.consent_text or "").strip():
        raise ValidationFailed("The customer has to agree to text messages before an SMS is sent.", field="consent")
    if Channel.WHATSAPP in channels and not (request.consent_text or "").strip():
        raise ValidationFailed(
            "The customer has to agree to WhatsApp messages before a WhatsApp receipt is sent.", field="consent"
        )
    for channel in channels:
        if channel not in routing:
            raise ConfigurationError(f"No provider is set up for {channel.value} receipts.")
    return CheckedRequest(request, email, phone, (Channel.PRINT,) if printing else channels)


def send_receipt(
    session: UnitOfWork,
    receipt_id: str,
    checked: CheckedRequest,
    *,
    routing: Mapping[Channel, str],
    now: datetime,
    limits: TextLimits = DEFAULT_LIMITS,
) -> SendOutcome:
    """Queue the receipt as checked, record consent and preferences, and audit it (one unit of work).

    Raises `NotFound` (no such receipt or customer) or `ValidationFailed` (no contact typed or on file,
    or `TextRefused`: a text the `limits` do not allow).
    """
    request = checked.request
    sale = sales.sale_of_receipt(session, receipt_id)
    if sale is None:
        raise NotFound(f"There is no receipt {receipt_id}.")
    customer_id = _resolve_customer(session, sale, checked, now)
    on_file = customers.load(session, customer_id) if customer_id is not None else None
    sends: list[Send] = []
    for channel in checked.targets:
        recipient = recipient_for(channel, email=checked.email, phone=checked.phone, on_file=on_file, routing=routing)
        if recipient is None:
            word = "an email address" if channel is Channel.EMAIL else "a phone number"
            raise ValidationFailed(f"Type {word} for this receipt; none is on file.", field=CONTACT_KIND[channel])
        sends.append(Send(channel, routing[channel], recipient))
    channels = request.choice.channels
    if customer_id is not None and channels:
        customers.set_preferences(session, customer_id, channels, auto_send=request.remember, now=now)
        if request.remember and request.language is not None:
            customers.set_language(session, customer_id, request.language)
    consent = _consent(session, receipt_id, customer_id, request) if customer_id is not None else None

    def detail(queued: Sequence[outbox.NewDelivery]) -> dict[str, Any]:
        return {"delivery_ids": [d.id for d in queued], "remember": request.remember, "customer_id": customer_id}

    note = AuditNote(request.source, f"receipt.kiosk_{request.choice.value}", detail)
    queued = queue_receipt(session, receipt_id, sends, consent=consent, note=note, now=now, limits=limits)
    return SendOutcome(receipt_id, request.choice, tuple(queued_view(d) for d in queued))


EMAIL_AT_SCREEN = "The customer chose a receipt by email on the customer screen and confirmed the address shown."
EMAIL_AT_TILL = "The customer asked the cashier for a receipt by email and the cashier typed or confirmed the address."
"""What asking for an email receipt at the till means, as the ledger keeps it (an email needs no more)."""

SCREEN_SOURCES = {CUSTOMER_SCREEN: ConsentSource.CUSTOMER_SCREEN, CASHIER: ConsentSource.CASHIER}
"""The ledger's source for each kiosk face (`SendRequest.source`); another word is kept as it is."""


def _consent(session: UnitOfWork, receipt_id: str, customer_id: int, request: SendRequest) -> SmsConsent:
    """The grants of a send from the till, as given: the words shown, their language, the lane and who.

    Only the customer screen, where the customer reads the words and taps, is a grant in person that
    lifts an earlier opt-out; the cashier's tick records the customer's request but does not.
    """
    where = consents.where_of_receipt(session, receipt_id)
    source = SCREEN_SOURCES.get(request.source, request.source)
    on_screen = source is ConsentSource.CUSTOMER_SCREEN
    texted = (request.consent_text or "").strip() or None
    return SmsConsent(
        customer_id,
        texted,
        source,
        email_text=EMAIL_AT_SCREEN if on_screen else EMAIL_AT_TILL,
        language=(request.language or Language.EN).value,
        lane=where.lane,
        staff=(where.cashier or request.source) if source is ConsentSource.CASHIER else None,
        in_person=on_screen,
        order_updates=where.order_id is not None,
    )


def _resolve_customer(
    session: UnitOfWork, sale: sales.SaleOfReceipt, checked: CheckedRequest, now: datetime
) -> int | None:
    """Whose receipt this is: a looked-up customer, else the sale's (unless 'not me'), else found by contact."""
    request, email, phone = checked.request, checked.email, checked.phone
    customer_id = request.customer_id
    if customer_id is None and not request.not_me:
        customer_id = sale.customer_id
    if customer_id is not None:
        if not customers.exists(session, customer_id):
            raise NotFound(f"There is no customer {customer_id}.")
        for kind, value in (("email", email), ("phone", phone)):
            if value:
                customers.attach_contact(session, customer_id, kind, value, now=now)
    elif email or phone:
        customer_id = customers.upsert(
            session, now=now, name=None, loyalty_id=None, language=request.language, email=email, phone=phone
        )
    if customer_id is not None and sale.customer_id is None:
        sales.set_customer(session, sale.pk, customer_id)
    return customer_id
