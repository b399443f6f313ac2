"""Customers' texts to the store's number: STOP, START, HELP, a text-in code, or a message for the manager.

Twilio posts every text to the number's "A message comes in" webhook
(twilio.com/docs/messaging/guides/webhook-request), signed with `X-Twilio-Signature` as its status
callbacks are (`app.providers.twilio_callbacks.verify_signature`, key: the twilio Auth Token).
Twilio retries a webhook it got no answer to, with the same `MessageSid`: a text already taken in
does nothing again. In one unit of work per text:

- STOP (and its synonyms, `app.domain.keywords`): texts to the number stop at once
  (`app.services.consent.revoke_and_cancel`: the opt-out, the ledger, queued texts cancelled, the
  audit), and ONE confirmation is queued after it. A STOP from a number already stopped changes
  nothing and gets no answer, so the number hears from the store once;
- START, YES, UNSTOP from a stopped number: the opt-out is lifted (`restore`), with one
  confirmation. From a number that never stopped, "yes" is just a message for the manager;
- HELP, INFO: the store's name and phone;
- a text-in code (`app.services.text_in`): the receipt by SMS to that number, or one plain answer
  when the code was used, expired or unknown;
- anything else: no answer; kept for the manager's inbox until marked handled.

A stopped number gets nothing else, not even a HELP answer or a code's receipt, until it texts
START: the customer screen's text-in words say so. When Twilio answered the keyword itself
(Advanced Opt-Out adds `OptOutType` to the webhook;
support.twilio.com/hc/en-us/articles/31560110671259), the effect is recorded and no second answer
is sent. Answers go through the outbox as SMS deliveries of their own (retried and tracked like a
receipt), in the customer's language where known (Spanish for ALTO and PARAR).

What is kept: a keyword text as the keyword alone, a code as `RD <code>`, anything else as written
(for the manager), with the sender's number; retention purges them after
`[retention] inbound_messages_days`.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from app.domain.channels import Channel, Language
from app.domain.clock import Clock, utcnow
from app.domain.consent import ChannelGroup, ConsentSource
from app.domain.contacts import mask_phone, normalise_phone
from app.domain.errors import NotFound, SignatureRejected, ValidationFailed
from app.domain.inbound import InboundRequest
from app.domain.keywords import OPT_OUT_CONFIRMATION, TEXT_REPLY, Keyword, parse_keyword
from app.domain.text_in import body_for, code_in
from app.domain.text_limits import DEFAULT_LIMITS, TextLimits
from app.providers.twilio_callbacks import verify_signature
from app.rendering.replies import reply
from app.services import consent
from app.services.bus import DeliveriesQueued, EventBus
from app.services.text_in import Taken, TextInService
from app.services.text_limits import check_text
from app.storage import audit, consents, customers, inbound_texts, outbox
from app.storage.database import Database, UnitOfWork
from app.storage.inbound_texts import InboundText

log = logging.getLogger(__name__)

PATH = "/webhooks/twilio/inbound"
SOURCE = "twilio inbound"
"""How the health names refused incoming-text webhooks."""
PROVIDER = "twilio"
ACTOR = "inbound_text"
MAX_BODY = 1600  # Twilio's longest message body (twilio.com/docs/messaging/api/message-resource)
_CODE_ANSWERS = {Taken.USED: "code_used", Taken.EXPIRED: "code_expired", Taken.UNKNOWN: "code_unknown"}


@dataclass(frozen=True, slots=True)
class Handled:
    """What one text did: taken as (`keyword`, None for the manager), answered, a repeat, a receipt sent."""

    keyword: Keyword | None
    duplicate: bool = False
    answered: bool = False
    receipt_id: str | None = None
    queued: int = 0


@dataclass(frozen=True, slots=True)
class InboxText:
    """A text for the manager, its sender masked."""

    id: int
    sender: str
    body: str
    received_at: datetime
    handled_at: datetime | None
    handled_by: str | None


class InboundTextService:
    """Verifies Twilio's incoming-text webhook and acts on each text once; the manager's inbox."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        *,
        auth_token: str | None,
        store_name: str,
        store_phone: str,
        sms_provider: str | None,
        text_in: TextInService | None = None,
        limits: TextLimits = DEFAULT_LIMITS,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._bus = bus
        self._auth_token = auth_token
        self._store = store_name
        self._phone = store_phone
        self._provider = sms_provider
        self._text_in = text_in
        self._limits = limits
        self._clock = clock
        self.rejected: Counter[str] = Counter()  # requests refused for their signature, for health

    async def receive(self, request: InboundRequest) -> Handled:
        """Act on one incoming text (see the module's docstring).

        Raises `SignatureRejected` (not from Twilio, or no Auth Token set) or `ValidationFailed` (a
        verified body without MessageSid, From or Body, or a sender that is not a phone number).
        """
        form = request.form()
        signature = request.header("X-Twilio-Signature")
        if not self._auth_token or not verify_signature(self._auth_token, request.url, form, signature):
            self.rejected[SOURCE] += 1
            log.warning("rejected a Twilio incoming text with a bad or missing signature")
            raise SignatureRejected("The Twilio incoming-message signature did not verify.")
        fields = dict(form)
        for name in ("MessageSid", "From", "Body"):
            if name not in fields or (name != "Body" and not fields[name].strip()):
                raise ValidationFailed(f"An incoming text needs {name}.", field=name)
        sid = fields["MessageSid"].strip()[:64]
        phone = normalise_phone(fields["From"])
        text = Text(sid, phone, fields["Body"][:MAX_BODY], twilio_answered=bool(fields.get("OptOutType")))
        handled, revocation = await self._db.write(lambda session: self._handle(session, text, request.received_at))
        if revocation is not None:
            consent.announce(self._bus, revocation)
        if handled.queued:
            self._bus.publish(DeliveriesQueued(handled.queued))
        what = "a repeat" if handled.duplicate else handled.keyword.value if handled.keyword else "for the manager"
        log.info("text in from %s: %s", mask_phone(phone), what)
        return handled

    def _handle(self, session: UnitOfWork, text: Text, now: datetime) -> tuple[Handled, consent.Revocation | None]:
        if inbound_texts.seen(session, PROVIDER, text.sid):
            return Handled(None, duplicate=True), None
        parsed = parse_keyword(text.body)
        stopped = consents.opted_out(session, ChannelGroup.TEXT, text.phone)
        owner = customers.find(session, loyalty_id=None, email=None, phone=text.phone)
        known = customers.load(session, owner).language if owner is not None else None
        language = (parsed.language if parsed else None) or known

        def keep(keyword: Keyword | None, body: str) -> None:
            inbound_texts.add(
                session,
                provider=PROVIDER,
                message_sid=text.sid,
                sender=text.phone,
                body=body,
                keyword=keyword.value if keyword else None,
                received_at=now,
                handled=keyword is not None,
            )

        if parsed is not None and parsed.keyword is Keyword.STOP:
            keep(Keyword.STOP, parsed.word)
            if stopped:
                return Handled(Keyword.STOP), None
            revocation = consent.revoke_and_cancel(
                session, text.phone, ChannelGroup.TEXT, via=ConsentSource.STOP_REPLY, actor=ACTOR, now=now
            )
            sent = not text.twilio_answered and self._answer(
                session, text, reply("stopped", language, store=self._store), now, kind=OPT_OUT_CONFIRMATION
            )
            return Handled(Keyword.STOP, answered=sent, queued=int(sent)), revocation
        if parsed is not None and parsed.keyword is Keyword.START and stopped:
            keep(Keyword.START, parsed.word)
            words = reply("started", language, store=self._store)
            consent.restore(
                session,
                text.phone,
                ChannelGroup.TEXT,
                via=ConsentSource.START_REPLY,
                actor=ACTOR,
                now=now,
                text_shown=f"The customer texted {parsed.word}; the store answered: {words}",
                language=language.value if language else None,
            )
            sent = not text.twilio_answered and self._answer(session, text, words, now, limited=False)
            return Handled(Keyword.START, answered=sent, queued=int(sent)), None
        if parsed is not None and parsed.keyword is Keyword.HELP:
            keep(Keyword.HELP, parsed.word)
            key, values = ("help", {"phone": self._phone}) if self._phone else ("help_no_phone", {})
            words = reply(key, language, store=self._store, **values)
            sent = not stopped and not text.twilio_answered and self._answer(session, text, words, now)
            return Handled(Keyword.HELP, answered=sent, queued=int(sent)), None
        found = code_in(text.body) if parsed is None else None
        text_in = self._text_in
        if found is not None and text_in is not None and (found.prefixed or text_in.is_issued(session, found.code)):
            keep(Keyword.CODE, body_for(found.code))
            return self._take_code(session, text_in, text, found.code, now, stopped=stopped, language=language), None
        keep(None, text.body)
        return Handled(None), None

    def _take_code(
        self,
        session: UnitOfWork,
        text_in: TextInService,
        text: Text,
        code: str,
        now: datetime,
        *,
        stopped: bool,
        language: Language | None,
    ) -> Handled:
        if stopped:  # nothing reaches a stopped number; START first, as the customer screen says
            self._note_code(session, text, code, "opted_out", now)
            return Handled(Keyword.CODE)
        taking = text_in.take(session, code, text.phone, now=now)
        if taking.outcome is Taken.SENT:
            return Handled(Keyword.CODE, receipt_id=taking.receipt_id, queued=taking.queued)
        self._note_code(session, text, code, taking.outcome.value, now)
        answer = _CODE_ANSWERS.get(taking.outcome)  # none when the text limits refused the number
        words = reply(answer, language or taking.language, store=self._store) if answer else None
        sent = words is not None and self._answer(session, text, words, now)
        return Handled(Keyword.CODE, answered=sent, receipt_id=taking.receipt_id, queued=int(sent))

    def _answer(
        self,
        session: UnitOfWork,
        text: Text,
        words: str,
        now: datetime,
        *,
        kind: str = TEXT_REPLY,
        limited: bool = True,
    ) -> bool:
        """Queue one SMS answer to the text's sender; False when no SMS provider, or the limits refuse it.

        The STOP and START confirmations skip the text limits (each goes once per change, and carriers
        expect them); other answers go through them like any text.
        """
        if self._provider is None:
            return False
        if limited and kind != OPT_OUT_CONFIRMATION:
            refusal = check_text(session, Channel.SMS, text.phone, self._limits, now=now).refusal
            if refusal is not None:
                log.warning("answer to %s not queued: %s", mask_phone(text.phone), refusal)
                return False
        outbox.new_delivery(
            session,
            receipt_id=None,
            channel=Channel.SMS,
            provider=self._provider,
            recipient=text.phone,
            now=now,
            context={
                "subject": self._store,
                "text": words,
                "sms": words,
                "metadata": {"kind": kind, "in_reply_to": text.sid},
            },
            idempotency_key=f"in-{text.sid}",  # one answer per text, whatever retries the webhook
        )
        return True

    def _note_code(self, session: UnitOfWork, text: Text, code: str, why: str, now: datetime) -> None:
        audit.append(
            session,
            at=now,
            actor=ACTOR,
            action="receipt.text_in_refused",
            subject=code,
            detail={"from": mask_phone(text.phone), "why": why},
        )

    # -- the manager's inbox ----------------------------------------------------------------

    async def inbox(self, *, include_handled: bool = False) -> list[InboxText]:
        """Texts kept for the manager, newest first, senders masked."""
        rows = await self._db.read(lambda s: inbound_texts.for_manager(s, include_handled=include_handled))
        return [_masked(row) for row in rows]

    async def waiting(self) -> int:
        """How many texts wait for the manager."""
        return await self._db.read(inbound_texts.unhandled_count)

    async def reveal(self, message_id: int, *, actor: str) -> str:
        """The sender's full number, for a manager who will call them back (audited)."""
        now = self._clock()

        def job(session: UnitOfWork) -> str:
            sender = inbound_texts.sender_of(session, message_id)
            if sender is None:
                raise NotFound("That text is no longer kept.")
            audit.append(
                session,
                at=now,
                actor=actor,
                action="inbox.revealed",
                subject=str(message_id),
                detail={"sender": mask_phone(sender)},
            )
            return sender

        return await self._db.write(job)

    async def mark_handled(self, message_id: int, *, actor: str) -> bool:
        """Mark a text handled; False when it was already (audited when it changes)."""
        now = self._clock()

        def job(session: UnitOfWork) -> bool:
            changed = inbound_texts.mark_handled(session, message_id, by=actor, now=now)
            if changed:
                audit.append(session, at=now, actor=actor, action="inbox.handled", subject=str(message_id), detail={})
            return changed

        return await self._db.write(job)


@dataclass(frozen=True, slots=True)
class Text:
    """One incoming text as the handler needs it."""

    sid: str
    phone: str
    body: str
    twilio_answered: bool


def _masked(row: InboundText) -> InboxText:
    return InboxText(row.id, mask_phone(row.sender), row.body, row.received_at, row.handled_at, row.handled_by)
