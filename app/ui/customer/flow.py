"""One customer's way through the receipt screens, as plain data (no Qt): what to ask next."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.domain.channels import Channel, Language
from app.services.kiosk import KioskSale, ReceiptChoice, SendRequest

CUSTOMER_SOURCE = "kiosk-customer"


class Step(StrEnum):
    """The customer screen's pages."""

    WELCOME = "welcome"
    CHOOSE = "choose"
    EMAIL = "email"
    PHONE = "phone"
    CONFIRM = "confirm"
    DONE = "done"


@dataclass(slots=True)
class CustomerSession:
    """What the customer chose and typed for one sale."""

    sale: KioskSale
    language: Language
    choice: ReceiptChoice | None = None
    email: str | None = None
    phone: str | None = None
    not_me: bool = False
    change_email: bool = False
    change_phone: bool = False
    consent_text: str | None = None
    """The text-message consent shown beside a one-tap text to the number on file (None: asked on confirm)."""

    @property
    def channels(self) -> tuple[Channel, ...]:
        return self.choice.channels if self.choice else ()

    @property
    def texting(self) -> bool:
        """Whether the receipt goes to a phone (SMS or WhatsApp): a number and the consent are needed."""
        return Channel.SMS in self.channels or Channel.WHATSAPP in self.channels

    @property
    def known(self) -> bool:
        """Whether the sale's customer is known (and not disowned with 'Not me')."""
        return self.sale.customer is not None and not self.not_me

    @property
    def email_on_file(self) -> str | None:
        """The masked address on file, when it will be used."""
        return self.sale.customer.masked_email if self.known and self.sale.customer else None

    @property
    def phone_on_file(self) -> str | None:
        """The masked number on file, when it will be used."""
        return self.sale.customer.masked_phone if self.known and self.sale.customer else None

    def next_step(self) -> Step:
        """The page to show after the latest answer."""
        if self.choice is None:
            return Step.CHOOSE
        if Channel.EMAIL in self.channels and self.email is None and (self.email_on_file is None or self.change_email):
            return Step.EMAIL
        if self.texting and self.phone is None and (self.phone_on_file is None or self.change_phone):
            return Step.PHONE
        return Step.CONFIRM if self.channels else Step.DONE

    def choose(self, choice: ReceiptChoice) -> Step:
        """The customer tapped a choice."""
        self.choice = choice
        self.consent_text = None
        self.email = self.phone = None
        self.change_email = self.change_phone = False
        return self.next_step()

    def quick(self, choice: ReceiptChoice, consent_text: str | None) -> None:
        """The customer tapped their contact on file on the choice screen: send there, nothing more to ask."""
        self.choose(choice)
        self.consent_text = consent_text

    def change(self, channel: Channel) -> tuple[Step, str]:
        """'Change' next to one contact: type it again, starting from what was typed (kept, not wiped)."""
        if channel is Channel.EMAIL:
            typed, self.email, self.change_email = self.email or "", None, True
        else:
            typed, self.phone, self.change_phone = self.phone or "", None, True
        return self.next_step(), typed

    def disown(self) -> Step:
        """'Not me': forget the customer on file, type contacts afresh."""
        self.not_me = True
        self.email = self.phone = None
        return self.next_step()

    def request(self, *, consent_text: str | None, remember: bool) -> SendRequest:
        """The send request for what was chosen."""
        assert self.choice is not None
        texting = self.texting
        return SendRequest(
            self.choice,
            email=self.email if Channel.EMAIL in self.channels else None,
            phone=self.phone if texting else None,
            consent_text=consent_text if texting else None,
            remember=remember and bool(self.channels),
            not_me=self.not_me,
            language=self.language,
            source=CUSTOMER_SOURCE,
        )
