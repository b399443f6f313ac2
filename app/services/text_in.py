"""A receipt by texting in: the code the customer screen offers, and what happens when it is texted back.

`offer` gives the customer screen a short code for a receipt (the same one again while it is
valid and unused), the store's number, the body to send and the `sms:` link its QR code carries.
When a text holding the code arrives (`app.services.inbound_texts`), `take` runs in that text's
unit of work:

- a code is used once: a second use, an expired code or one never issued changes nothing and gets
  one plain answer (the caller sends it);
- the number it came from is the customer's: found, or created with that number, and attached to
  the sale when the sale had no customer;
- the consent is recorded in the ledger as customer-initiated (`ConsentSource.TEXT_IN`) with the
  words the customer screen showed beside the code (`app.domain.text_in.consent_wording`), in the
  receipt's language, at the code's lane;
- the receipt is queued by SMS to that number, with an audit entry (`receipt.text_in`).

A number that opted out of texts gets nothing until it texts START (the caller checks that first).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from app.domain.channels import Channel, Language
from app.domain.clock import Clock, utcnow
from app.domain.consent import ConsentSource
from app.domain.contacts import mask_phone
from app.domain.errors import NotFound
from app.domain.text_in import VALID_FOR, WORDING_VERSION, body_for, consent_wording, new_code, sms_uri
from app.domain.text_limits import DEFAULT_LIMITS, TextLimits
from app.services.queueing import AuditNote, Send, queue_receipt
from app.services.text_limits import check_text
from app.storage import consents, customers, inbound_texts, sales
from app.storage.consents import Grant
from app.storage.database import Database, UnitOfWork

ACTOR = "text_in"
_TRIES = 20  # draws before giving up on a free code (30 bits: a clash is already rare)


@dataclass(frozen=True)
class TextInOffer:
    """What the customer screen shows: the code, the number to text, the body, the link for the QR code."""

    code: str
    number: str
    body: str
    sms_uri: str
    expires_at: datetime


class Taken(StrEnum):
    """What a texted code did."""

    SENT = "sent"
    USED = "used"  # the code's one use was spent
    EXPIRED = "expired"
    UNKNOWN = "unknown"
    REFUSED = "refused"  # the text limits refuse texting that number: nothing sent, the code kept


@dataclass(frozen=True, slots=True)
class Taking:
    """The outcome of a texted code, the receipt it named, and the deliveries queued."""

    outcome: Taken
    receipt_id: str | None = None
    queued: int = 0
    language: Language | None = None


class TextInService:
    """Offers text-in codes and turns a texted code into a receipt by SMS."""

    def __init__(
        self,
        db: Database,
        *,
        enabled: bool,
        number: str | None,
        store_name: str,
        sms_provider: str | None,
        limits: TextLimits = DEFAULT_LIMITS,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._enabled = enabled and bool(number) and sms_provider is not None
        self.number = number
        self._store = store_name
        self._provider = sms_provider
        self._limits = limits
        self._clock = clock

    @property
    def enabled(self) -> bool:
        """Whether codes are offered: `[texts] text_in` on, a number to text, and a provider to answer."""
        return self._enabled

    async def offer(self, receipt_id: str, *, lane: str | None, language: Language | None = None) -> TextInOffer | None:
        """A code for `receipt_id` (the live one again if there is one); None when text-in is off.

        `language` is the one the customer screen shows the code's words in: the consent recorded when
        the code comes back is those words, in that language.

        Raises `NotFound` for a receipt that does not exist.
        """
        if not self._enabled or self.number is None:
            return None
        number = self.number
        now = self._clock()

        def job(session: UnitOfWork) -> TextInOffer:
            live = inbound_texts.live_code(session, receipt_id, now=now)
            if live is not None:
                if language is not None and live.language != language.value:
                    inbound_texts.show_code_in(session, live.code, language.value)
                return _offer(live.code, number, live.expires_at)
            if inbound_texts.receipt_lane(session, receipt_id) is None:
                raise NotFound(f"There is no receipt {receipt_id}.")
            for _ in range(_TRIES):
                code = new_code()
                if not inbound_texts.code_exists(session, code):
                    break
            else:  # pragma: no cover - 20 clashes in a row over 2^30 codes
                raise RuntimeError("no free text-in code")
            expires = now + VALID_FOR
            inbound_texts.add_code(
                session,
                code=code,
                receipt_id=receipt_id,
                lane=lane,
                language=language.value if language else None,
                now=now,
                expires_at=expires,
            )
            return _offer(code, number, expires)

        return await self._db.write(job)

    def is_issued(self, session: UnitOfWork, code: str) -> bool:
        """Whether this code was ever offered (a bare six-letter text is a code only then)."""
        return inbound_texts.code_exists(session, code)

    def take(self, session: UnitOfWork, code: str, phone: str, *, now: datetime) -> Taking:
        """Send the receipt behind `code` to `phone` (see the module's docstring), in the caller's unit of work."""
        found = inbound_texts.find_code(session, code)
        if found is None or self._provider is None or self.number is None:
            return Taking(Taken.UNKNOWN)
        language = _language(found.language)
        if found.used_at is not None:
            return Taking(Taken.USED, found.receipt_id, language=language)
        if found.expires_at <= now:
            return Taking(Taken.EXPIRED, found.receipt_id, language=language)
        if check_text(session, Channel.SMS, phone, self._limits, now=now).refusal is not None:
            return Taking(Taken.REFUSED, found.receipt_id, language=language)
        if not inbound_texts.use_code(session, code, now=now):
            return Taking(Taken.USED, found.receipt_id, language=language)
        customer_id = customers.find(session, loyalty_id=None, email=None, phone=phone)
        if customer_id is None:
            customer_id = customers.upsert(
                session, now=now, name=None, loyalty_id=None, language=language, email=None, phone=phone
            )
        attached = found.customer_id is None
        if attached:
            sales.set_customer(session, found.sale_pk, customer_id)
        wording = consent_wording(language, store=self._store, body=body_for(code), number=self.number)
        consents.record(
            session,
            Grant(
                customer_id,
                Channel.SMS,
                phone,
                wording,
                ConsentSource.TEXT_IN,
                text_version=WORDING_VERSION,
                language=language.value if language else None,
                lane=found.lane,
            ),
            granted=True,
            now=now,
        )
        note = AuditNote(
            actor=ACTOR,
            action="receipt.text_in",
            detail=lambda queued: {
                "code": code,
                "to": mask_phone(phone),
                "lane": found.lane,
                "customer_id": customer_id,
                "customer_attached": attached,
                "deliveries": [d.id for d in queued],
            },
        )
        queued = queue_receipt(
            session,
            found.receipt_id,
            [Send(Channel.SMS, self._provider, phone)],
            consent=None,  # the ledger's grant above is this text's consent
            note=note,
            now=now,
            limits=self._limits,
        )
        return Taking(Taken.SENT, found.receipt_id, len(queued), language)


def _offer(code: str, number: str, expires_at: datetime) -> TextInOffer:
    body = body_for(code)
    return TextInOffer(code=code, number=number, body=body, sms_uri=sms_uri(number, body), expires_at=expires_at)


def _language(value: str | None) -> Language | None:
    try:
        return Language(value) if value else None
    except ValueError:
        return None
