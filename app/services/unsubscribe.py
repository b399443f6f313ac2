"""Unsubscribing from receipt e-mails: the token each e-mail carries, and using it.

Sending: when the dispatcher claims e-mails of receipts and order updates, each address gets its token
(`attach_tokens`, in the claim's own transaction), and `with_unsubscribe` puts the `List-Unsubscribe`
headers and the footer line on the message (`app.domain.unsubscribe`, `app.rendering.unsubscribe`).
A message that is not a receipt's (the manager's daily summary) carries neither.

Using it: the one-click link (`POST /unsubscribe/TOKEN`, RFC 8058, or the button of the page `GET`
shows; a `GET` itself never unsubscribes, as mail scanners open links) revokes e-mail for the token's
address with `ConsentSource.EMAIL_LINK`; an e-mail to the plus-addressed mailbox, forwarded by Mailgun's
inbound route, does so with `ConsentSource.EMAIL_REPLY`. Both go through `app.services.consent`
(opt-out, ledger rows, queued e-mails cancelled, audit) in one transaction with the token's `used_at`;
a repeat changes nothing and is answered as done.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from app.domain.channels import Channel, Language
from app.domain.clock import Clock, utcnow
from app.domain.consent import ChannelGroup, ConsentSource
from app.domain.contacts import mask_contact
from app.domain.errors import SignatureRejected
from app.domain.inbound import InboundRequest
from app.domain.message import OutboundMessage
from app.domain.records import ClaimedDelivery
from app.domain.unsubscribe import UnsubscribeRoute, token_in
from app.providers import mailgun_inbound
from app.rendering.unsubscribe import place_footer
from app.services.bus import EventBus
from app.services.consent import Revocation, announce, revoke_and_cancel
from app.storage import customers, unsubscribe_links
from app.storage.database import Database, UnitOfWork

log = logging.getLogger(__name__)

ACTOR = "unsubscribe"
"""The audit actor of an unsubscribe: the customer, through a link or a mailbox."""
MAILGUN_INBOUND = "mailgun inbound"
"""How the health names refused Mailgun inbound posts."""


def wants_unsubscribe(claim: ClaimedDelivery) -> bool:
    """An e-mail of a receipt or an order update (to a customer), not a manager's daily summary."""
    return claim.channel is Channel.EMAIL and claim.receipt_id is not None and "@" in claim.recipient


def attach_tokens(session: UnitOfWork, claims: Sequence[ClaimedDelivery], *, now: datetime) -> list[ClaimedDelivery]:
    """The claims, each customer e-mail with its address's unsubscribe token (made on first use)."""
    tokens = unsubscribe_links.ensure(session, {c.recipient for c in claims if wants_unsubscribe(c)}, now=now)
    return [replace(c, unsubscribe_token=tokens[c.recipient]) if c.recipient in tokens else c for c in claims]


def with_unsubscribe(
    message: OutboundMessage, claim: ClaimedDelivery, route: UnsubscribeRoute | None
) -> OutboundMessage:
    """`message` with `List-Unsubscribe` (and `-Post`) headers and the footer line, when it carries a token."""
    token = claim.unsubscribe_token
    if route is None or token is None or message.channel is not Channel.EMAIL:
        return message
    html, text = place_footer(
        message.html, message.text, link=route.link(token), address=route.address(token), mailto=route.mailto(token)
    )
    return replace(message, html=html, text=text, headers={**message.headers, **route.headers(token)})


@dataclass(frozen=True, slots=True)
class LinkView:
    """What the unsubscribe page shows: the address masked, in the recipient's language."""

    token: str
    masked: str
    language: Language
    used: bool


@dataclass(frozen=True, slots=True)
class Unsubscribed:
    """The outcome of using a token: whether it newly stopped e-mail (False: it already was)."""

    view: LinkView
    newly: bool


class UnsubscribeService:
    """Looks tokens up and unsubscribes their addresses (one-click link or inbound e-mail)."""

    def __init__(
        self,
        db: Database,
        bus: EventBus,
        *,
        store_name: str = "",
        mailgun_signing_key: str | None = None,
        default_language: Language = Language.EN,
        clock: Clock = utcnow,
    ) -> None:
        self._db = db
        self._bus = bus
        self.store_name = store_name
        self._mailgun_key = mailgun_signing_key
        self._language = default_language
        self._clock = clock
        self.rejected: Counter[str] = Counter()  # inbound posts refused for their signature, for health

    async def look(self, token: str) -> LinkView | None:
        """The page's view of `token`; None when no e-mail ever carried it."""
        return await self._db.read(lambda s: self._view(s, token))

    async def unsubscribe(self, token: str, *, via: ConsentSource = ConsentSource.EMAIL_LINK) -> Unsubscribed | None:
        """Stop e-mail to the token's address (idempotent); None for an unknown token."""
        now = self._clock()

        def job(session: UnitOfWork) -> tuple[Unsubscribed, Revocation] | None:
            view = self._view(session, token)
            link = unsubscribe_links.find(session, token)
            if view is None or link is None:
                return None
            revocation = revoke_and_cancel(session, link.address, ChannelGroup.EMAIL, via=via, actor=ACTOR, now=now)
            unsubscribe_links.mark_used(session, token, now=now)
            return Unsubscribed(view, revocation.newly), revocation

        done = await self._db.write(job)
        if done is None:
            return None
        result, revocation = done
        announce(self._bus, revocation)
        log.info(
            "%s unsubscribed from receipt e-mails (%s)%s",
            result.view.masked,
            via.value,
            "" if result.newly else ", again",
            extra={"event": "unsubscribe", "via": via.value, "newly": result.newly},
        )
        return result

    async def mailgun_inbound(self, request: InboundRequest) -> Unsubscribed | None:
        """An e-mail to the unsubscribe mailbox, forwarded by a Mailgun route: unsubscribe the token it names.

        Raises `SignatureRejected` when the post is not provably Mailgun's; None when it names no known token
        (nothing changes: the mailbox may get other mail)."""
        try:
            mail = mailgun_inbound.read(request, self._mailgun_key)
        except SignatureRejected:
            self.rejected[MAILGUN_INBOUND] += 1
            log.warning("rejected a Mailgun inbound post with a bad or missing signature")
            raise
        token = token_in(mail.recipient, mail.subject, mail.body)
        if token is None:
            log.info("an e-mail to the unsubscribe mailbox named no unsubscribe token; nothing changed")
            return None
        return await self.unsubscribe(token, via=ConsentSource.EMAIL_REPLY)

    def _view(self, session: UnitOfWork, token: str) -> LinkView | None:
        link = unsubscribe_links.find(session, token)
        if link is None:
            return None
        owner = customers.find(session, loyalty_id=None, email=link.address, phone=None)
        language = customers.load(session, owner).language if owner is not None else None
        return LinkView(token, mask_contact(link.address), language or self._language, link.used_at is not None)
