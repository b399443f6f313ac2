"""One attempt at one delivery: pick the provider, send, and turn what happened into a `Settlement`.

Failover follows two rules. A delivery moves to the next provider of its channel only when the
failure happened before the provider accepted anything (connection refused, 429, 5xx) or when the
provider's circuit is open. After an ambiguous timeout the delivery stays with its provider as
`unknown`: sending it through another provider could give the customer two receipts.

Every request is preceded by its attempt row (`sending`, written by the dispatcher's `intend`), so
a crash leaves a trace. A claim that carries an attempt in doubt settles it first: it asks the
provider (`look_up`) when it can be asked, else follows the channel's `InDoubtPolicy`.

A receipt goes out in our own rendering unless its provider has the store's template (`template_id` under
`[providers.sendgrid]`, `[providers.postmark]` or `[providers.mandrill]`): then it is a template send with
the receipt's stored data (`receipts.template_data`). The fallback rule: when the provider permanently
refuses a template send and its adapter says the refusal is the template's (`template_refused`: SendGrid
400 on `template_id`, Postmark ErrorCode 1100-1199, Mandrill `Unknown_Template`), the attempt is settled
`template_refused`, the delivery stays queued with the same provider, due at once, and every later attempt
of that delivery sends our own rendering. So the fallback happens once per delivery; any other refusal
(a bad key, a refused recipient) fails the delivery as before, and a refusal of our own rendering is final.
"""

from __future__ import annotations

import json
import logging
import random
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from app.domain.app_devices import GONE_CODES, GONE_ERROR, GONE_REASON
from app.domain.audit import AuditDraft
from app.domain.barcodes import RECEIPT_PREFIX
from app.domain.channels import Channel
from app.domain.clock import Clock
from app.domain.contacts import mask_contact
from app.domain.delivery import DeliveryState, transition
from app.domain.doubt import DEFAULT_IN_DOUBT, InDoubtPolicy, Lookup, SettledBy
from app.domain.errors import PermanentProviderError, TransientProviderError
from app.domain.message import Attachment, OutboundMessage, SendResult, SendStatus
from app.domain.records import TEMPLATE_REFUSED, ClaimedDelivery, DoubtSettlement, Settlement
from app.domain.routing import Routing
from app.domain.unsubscribe import UnsubscribeRoute
from app.domain.whatsapp import SESSION_UNTIL, session_open
from app.providers.base import ProviderAdapter
from app.providers.templates import RECEIPT_DATA, ReceiptTemplates, template_of
from app.rendering.inline_images import place_images, return_code_image
from app.services.breaker import CircuitBreaker
from app.services.ratelimit import RateLimiter
from app.services.retry import RetryPolicy
from app.services.unsubscribe import with_unsubscribe

log = logging.getLogger(__name__)

LOOKUP_SKEW = timedelta(minutes=2)
"""How far before an attempt in doubt began its provider is asked about: their clocks and ours differ."""


@dataclass(frozen=True, slots=True)
class Intent:
    """What is about to leave: the dispatcher writes it (`sending`) before the request does."""

    claim: ClaimedDelivery
    provider: str
    started_at: datetime
    possible_duplicate: bool
    doubt: DoubtSettlement | None  # the attempt in doubt this send settles
    rewrite: bool = False  # it replaces the attempt written at the claim (the request goes to another provider)


Intend = Callable[[Intent], Awaitable[bool]]
"""Writes an intent under the claim's fence; False when the claim was taken over (nothing may be sent)."""


@dataclass(slots=True)
class ProviderStats:
    """What the dispatcher saw of one provider since start (for health)."""

    sent: int = 0
    failed: int = 0
    transient: int = 0
    fallbacks: int = 0  # deliveries routed away from this provider
    last_error: str | None = None
    last_error_at: datetime | None = None
    last_ok_at: datetime | None = None

    @property
    def state(self) -> str:
        if self.last_error_at is None:
            return "ok"
        if self.last_ok_at is None or self.last_error_at > self.last_ok_at:
            return "failing"
        return "ok"


@dataclass(slots=True)
class DispatchStats:
    providers: dict[str, ProviderStats] = field(default_factory=dict)
    in_flight: int = 0

    def provider(self, name: str) -> ProviderStats:
        return self.providers.setdefault(name, ProviderStats())


def attempt_entry(claim: ClaimedDelivery, settlement: Settlement) -> AuditDraft:
    """The audit entry of one attempt: number, provider, outcome, status code, the state it left, and the
    recipient masked (never in full, never the provider's error text, which may quote it)."""
    detail: dict[str, object] = {
        "number": settlement.attempt,
        "provider": settlement.provider,
        "outcome": settlement.outcome,
        "status_code": settlement.status_code,
        "state": settlement.new_state.value,
        "channel": claim.channel.value,
        "to": mask_contact(claim.recipient),
    }
    if claim.receipt_id:
        detail["receipt_id"] = claim.receipt_id
    return AuditDraft(settlement.finished_at, "dispatcher", "delivery.attempt", settlement.delivery_id, detail)


def build_message(claim: ClaimedDelivery, now: datetime | None = None, *, receipt_data: bool = True) -> OutboundMessage:
    """The normalised message for one claimed delivery (sent at `now`: a WhatsApp window is checked then).

    An e-mail receipt carries its template data (`provider_extra[RECEIPT_DATA]`) unless a template send of
    it was refused (`claim.own_design`), or `receipt_data` is False: for a provider that would not send it
    with a store template (`takes_receipt_data`), the stored data is then not even read."""
    ids = {"receipt_id": claim.receipt_id, "sale_id": claim.sale_id, "delivery_id": claim.id}
    meta = {**claim.metadata, **{k: v for k, v in ids.items() if v}}
    if claim.channel in (Channel.SMS, Channel.WHATSAPP):
        extra: dict[str, Any] = {}
        if claim.channel is Channel.WHATSAPP:
            # The 24-hour window known at queue time, against the clock of this send (app.domain.whatsapp).
            extra["session_open"] = now is not None and session_open(meta, now)
            meta.pop(SESSION_UNTIL, None)
            meta = {**_template_summary(claim), **meta}  # the content template's variables: store, total
        return OutboundMessage(
            claim.channel,
            claim.recipient,
            claim.idempotency_key,
            sms_body=claim.sms_body,
            metadata=meta,
            provider_extra=extra,
        )
    return OutboundMessage(
        claim.channel,
        claim.recipient,
        claim.idempotency_key,
        subject=claim.subject,
        html=claim.html,
        text=claim.text,
        # A push notification shows the short summary (an FCM payload is at most 4,096 bytes), not the full text.
        sms_body=claim.sms_body if claim.channel is Channel.PUSH else None,
        metadata=meta,
        provider_extra=_receipt_data(claim) if receipt_data else {},
    )


_WITH_DATA = OutboundMessage(Channel.EMAIL, "", "", provider_extra={RECEIPT_DATA: {}})
"""A receipt e-mail carrying its data, as far as an adapter's `receipt_template` looks: whether it has it."""


def takes_receipt_data(adapter: ProviderAdapter) -> bool:
    """Whether `adapter` sends a receipt that carries its data with the store's template (one is set up): only
    then does the dispatcher read the receipt's stored data, a JSON document, for each e-mail it sends."""
    return isinstance(adapter, ReceiptTemplates) and adapter.receipt_template(_WITH_DATA) is not None


# --- inline images (the return barcode, the store's logo) -------------------------------------------
def with_inline_images(
    message: OutboundMessage, claim: ClaimedDelivery, adapter: ProviderAdapter, images: Mapping[str, Attachment]
) -> OutboundMessage:
    """An e-mail in our own rendering with the inline images its HTML shows: the return barcode (drawn from
    the sale id) and `images` (the store's logo). A provider that carries no attachments, or a template send,
    gets the HTML without the images (the return code stays as text); see `app.rendering.inline_images`."""
    if message.channel is not Channel.EMAIL or not message.html:
        return message
    available = dict(images)
    barcode = return_code_image(RECEIPT_PREFIX + claim.sale_id) if claim.sale_id else None
    if barcode is not None:
        available[barcode.cid] = barcode.attachment
    carry = adapter.capabilities.supports_attachments and template_of(adapter, message) is None
    html, attachments = place_images(message.html, available, carry=carry)
    return replace(message, html=html, attachments=message.attachments + attachments)


# --- end inline images ------------------------------------------------------------------------------


def _template_summary(claim: ClaimedDelivery) -> dict[str, str]:
    """The store's name and the total from the receipt's template data, for a WhatsApp content template."""
    try:
        data = json.loads(claim.template_data or "{}")
        found = {"store": data["store"]["name"], "total": data["totals"]["total"]["display"]}
    except (ValueError, KeyError, TypeError):
        return {}
    return {key: value for key, value in found.items() if isinstance(value, str) and value}


def _receipt_data(claim: ClaimedDelivery) -> dict[str, Any]:
    """`{RECEIPT_DATA: data}` for a receipt a store template may carry, else nothing."""
    if claim.channel is not Channel.EMAIL or not claim.template_data or claim.own_design:
        return {}
    try:
        data = json.loads(claim.template_data)
    except ValueError:  # never expected of what we stored; our own rendering still goes out
        log.warning("receipt %s has unreadable template data; sending our own rendering", claim.receipt_id)
        return {}
    return {RECEIPT_DATA: data} if isinstance(data, dict) else {}


class AttemptRunner:
    """Runs attempts; shares breaker, limiter and stats across every worker of a dispatcher."""

    def __init__(
        self,
        adapters: Mapping[str, ProviderAdapter],
        routing: Routing,
        policy: RetryPolicy,
        limiter: RateLimiter,
        breaker: CircuitBreaker,
        stats: DispatchStats,
        *,
        clock: Clock,
        rng: random.Random,
        intend: Intend,
        in_doubt: Mapping[Channel, InDoubtPolicy] = DEFAULT_IN_DOUBT,
        inline_images: Mapping[str, Attachment] | None = None,
        unsubscribe: UnsubscribeRoute | None = None,
    ) -> None:
        self._inline_images = dict(inline_images or {})
        self._unsubscribe = unsubscribe
        self._intend = intend
        self._in_doubt = in_doubt
        self._adapters = adapters
        self._routing = routing
        self._policy = policy
        self._limiter = limiter
        self._breaker = breaker
        self._stats = stats
        self._clock = clock
        self._rng = rng

    async def run(self, claim: ClaimedDelivery) -> Settlement | None:
        """Settle the claim's doubt if it carries one, then send; None when the claim was taken over
        before anything left (there is nothing of this worker's to record)."""
        started = self._clock()
        doubt: DoubtSettlement | None = None
        duplicate = claim.possible_duplicate
        if claim.doubt is not None:
            decided = await self._settle_doubt(claim)
            if isinstance(decided, Settlement):
                return decided
            doubt = decided
            duplicate = duplicate or decided.settled_by == SettledBy.RESENT.value
        provider = self._choose(claim)
        if provider is None:
            wait = max(1.0, min(self._breaker.retry_in(p) for p in self._chain(claim)))
            return self._settle(
                claim,
                claim.provider,
                started,
                "deferred",
                DeliveryState.QUEUED,
                counts=False,
                error=f"every {claim.channel.value} provider is failing; waiting {wait:.0f} s",
                next_at=self._clock() + timedelta(seconds=wait),
            )
        moved_from = claim.provider if provider != claim.provider else None
        if moved_from:
            self._stats.provider(moved_from).fallbacks += 1
        adapter = self._adapters.get(provider)
        if adapter is None:
            return self._settle(
                claim,
                provider,
                started,
                "permanent",
                DeliveryState.FAILED,
                error=f"{provider} is not set up here: set it up in Settings, Providers, then retry.",
                reason="provider not configured",
                recorded=claim.recorded,
                doubt=doubt,
            )
        stats = self._stats.provider(provider)
        await self._limiter.acquire(provider)
        started = self._clock()
        rewrite = claim.recorded and moved_from is not None
        if rewrite:
            # The attempt written at the claim names the provider the delivery had: it is written again, naming
            # the one the request goes to, before it leaves (after a crash, that is the provider asked about it).
            claim = replace(claim, recorded=False)
        if not claim.recorded and not await self._intend(Intent(claim, provider, started, duplicate, doubt, rewrite)):
            self._breaker.release_probe(provider)
            log.warning("delivery %s was taken over before attempt %d left; not sent", claim.id, claim.attempt)
            return None
        message = build_message(claim, started, receipt_data=takes_receipt_data(adapter))
        message = with_inline_images(message, claim, adapter, self._inline_images)
        message = with_unsubscribe(message, claim, self._unsubscribe)
        try:
            result = await adapter.send(message)
        except PermanentProviderError as exc:
            template = template_of(adapter, message)
            if template is not None and isinstance(adapter, ReceiptTemplates) and adapter.template_refused(exc):
                self._breaker.release_probe(provider)
                return self._template_refused(claim, provider, started, exc, template, moved_from)
            # A push install that is gone (FCM UNREGISTERED): the dispatcher removes the device with this settlement.
            gone = claim.channel is Channel.PUSH and exc.code in GONE_CODES
            self._breaker.release_probe(provider)
            stats.failed += 1
            stats.last_error, stats.last_error_at = exc.message, self._clock()
            return self._settle(
                claim,
                provider,
                started,
                "permanent",
                DeliveryState.FAILED,
                error=GONE_ERROR if gone else exc.message,
                status_code=exc.status_code,
                reason=GONE_REASON if gone else "refused by provider",
                moved_from=moved_from,
            )
        except TransientProviderError as exc:
            self._breaker.record_failure(provider)
            stats.transient += 1
            stats.last_error, stats.last_error_at = exc.message, self._clock()
            if exc.retry_after:
                self._limiter.pause(provider, exc.retry_after)
            return self._retry(claim, provider, started, exc, moved_from)
        except Exception as exc:  # a bug must not lose a receipt: treat as transient, keep the trace
            log.exception("unexpected error sending delivery %s", claim.id)
            self._breaker.release_probe(provider)
            failure = TransientProviderError(f"internal error: {type(exc).__name__}")
            return self._retry(claim, provider, started, failure, moved_from)
        self._breaker.record_success(provider)
        stats.sent += 1
        stats.last_ok_at = self._clock()
        return self._accepted(claim, provider, started, result, moved_from)

    async def _settle_doubt(self, claim: ClaimedDelivery) -> Settlement | DoubtSettlement:
        """Ask the provider about the attempt in doubt, or follow the channel's policy.

        A `DoubtSettlement` means: send now (the doubt is settled with the intent of that send);
        a `Settlement` means nothing is sent (found, held, or not known yet).
        """
        assert claim.doubt is not None
        doubt = claim.doubt
        adapter = self._adapters.get(doubt.provider)
        lookup: Lookup | None = None
        if adapter is not None:
            try:
                lookup = await adapter.look_up(
                    build_message(claim, doubt.started_at), sent_after=doubt.started_at - LOOKUP_SKEW
                )
            except Exception as exc:  # a bug in a lookup must not send twice: the doubt stays
                log.exception("asking %s about delivery %s failed", doubt.provider, claim.id)
                lookup = Lookup(found=None, detail=f"internal error: {type(exc).__name__}")
        route = doubt.provider if doubt.provider != claim.provider else None
        if lookup is None:
            policy = self._in_doubt.get(claim.channel, DEFAULT_IN_DOUBT[claim.channel])
            if policy is InDoubtPolicy.HOLD:
                return self._settle(
                    claim,
                    doubt.provider,
                    self._clock(),
                    "held",
                    DeliveryState.HELD,
                    error=f"Attempt {doubt.number} may have reached the customer and {doubt.provider} cannot be "
                    "asked: a manager sends it again or drops it.",
                    reason="held: in doubt",
                    counts=False,
                    doubt=DoubtSettlement(doubt.number, SettledBy.HELD.value, doubt.provider),
                    route_to=route,
                )
            return DoubtSettlement(doubt.number, SettledBy.RESENT.value, doubt.provider)
        if lookup.found is False:
            return DoubtSettlement(doubt.number, SettledBy.LOOKUP_NOT_FOUND.value, doubt.provider)
        if lookup.found:
            found = DoubtSettlement(
                doubt.number,
                SettledBy.LOOKUP_FOUND.value,
                doubt.provider,
                provider_message_id=lookup.provider_message_id,
                raw_status=lookup.raw_status,
            )
            return self._settle(
                claim,
                doubt.provider,
                self._clock(),
                "sent",
                DeliveryState.SENT,
                result=SendResult(lookup.provider_message_id, SendStatus.ACCEPTED, raw_status=lookup.raw_status),
                counts=False,
                doubt=found,
                route_to=route,
            )
        # The provider could not say now: ask again later. This counts toward the delivery's age, not its sends.
        now = self._clock()
        waited = (now - doubt.started_at).total_seconds()
        delay = min(self._policy.max_delay, max(self._policy.base_delay, waited / 2))
        detail = lookup.detail or f"{doubt.provider} could not say whether it took attempt {doubt.number}"
        if now + timedelta(seconds=delay) - claim.created_at > self._policy.max_age:
            return self._settle(
                claim,
                doubt.provider,
                now,
                "in_doubt",
                DeliveryState.DEAD,
                error=detail,
                reason=f"gave up: older than {self._policy.max_age}, attempt {doubt.number} still in doubt",
                counts=False,
            )
        return self._settle(
            claim,
            doubt.provider,
            now,
            "in_doubt",
            DeliveryState.UNKNOWN,
            error=detail,
            next_at=now + timedelta(seconds=delay),
            counts=False,
        )

    def _chain(self, claim: ClaimedDelivery) -> tuple[str, ...]:
        return self._routing.chains.get(claim.channel) or (claim.provider,)

    def _choose(self, claim: ClaimedDelivery) -> str | None:
        """The delivery's provider if its circuit allows a call, else the first fallback that does."""
        if self._breaker.allow(claim.provider):
            return claim.provider
        for alternative in self._routing.alternatives(claim.channel, claim.provider):
            if alternative in self._adapters and self._breaker.allow(alternative):
                return alternative
        return None

    def _template_refused(
        self,
        claim: ClaimedDelivery,
        provider: str,
        started: datetime,
        exc: PermanentProviderError,
        template: str,
        moved_from: str | None,
    ) -> Settlement:
        """The store's template was refused: the next attempt, due now, sends our own rendering (module docstring)."""
        log.warning("%s refused template %s for delivery %s; sending our own design", provider, template, claim.id)
        return self._settle(
            claim,
            provider,
            started,
            TEMPLATE_REFUSED,
            DeliveryState.QUEUED,
            error=f"{exc.message} Sending ReceiptDesk's own design instead.",
            status_code=exc.status_code,
            reason=f"template {template} refused: sending ReceiptDesk's own design",
            next_at=self._clock(),
            moved_from=moved_from,
        )

    def _accepted(
        self, claim: ClaimedDelivery, provider: str, started: datetime, result: SendResult, moved_from: str | None
    ) -> Settlement:
        if result.status is SendStatus.REJECTED:
            return self._settle(
                claim,
                provider,
                started,
                "permanent",
                DeliveryState.FAILED,
                result=result,
                error=result.detail or "recipient refused",
                reason="refused by provider",
                moved_from=moved_from,
            )
        state = DeliveryState.DELIVERED if result.status is SendStatus.DELIVERED else DeliveryState.SENT
        return self._settle(claim, provider, started, "sent", state, result=result, moved_from=moved_from)

    def _retry(
        self,
        claim: ClaimedDelivery,
        provider: str,
        started: datetime,
        exc: TransientProviderError,
        moved_from: str | None,
    ) -> Settlement:
        now = self._clock()
        decision = self._policy.decide(
            attempt=claim.attempt, created_at=claim.created_at, now=now, retry_after=exc.retry_after, rng=self._rng
        )
        outcome = "unknown" if exc.ambiguous else "transient"
        if not decision.retry:
            return self._settle(
                claim,
                provider,
                started,
                outcome,
                DeliveryState.DEAD,
                error=exc.message,
                status_code=exc.status_code,
                reason=decision.reason,
                moved_from=moved_from,
            )
        next_provider = provider
        if not exc.ambiguous:  # the provider never took the message: the next attempt may go elsewhere
            next_provider = next(
                iter(a for a in self._routing.alternatives(claim.channel, provider) if a in self._adapters), provider
            )
            if next_provider != provider:
                self._stats.provider(provider).fallbacks += 1
        state = DeliveryState.UNKNOWN if exc.ambiguous else DeliveryState.QUEUED
        return self._settle(
            claim,
            provider,
            started,
            outcome,
            state,
            error=exc.message,
            status_code=exc.status_code,
            next_at=now + timedelta(seconds=decision.delay),
            moved_from=moved_from or (provider if next_provider != provider else None),
            route_to=next_provider,
        )

    def _settle(
        self,
        claim: ClaimedDelivery,
        provider: str,
        started: datetime,
        outcome: str,
        state: DeliveryState,
        *,
        result: SendResult | None = None,
        error: str | None = None,
        status_code: int | None = None,
        reason: str | None = None,
        next_at: datetime | None = None,
        moved_from: str | None = None,
        route_to: str | None = None,
        counts: bool = True,
        recorded: bool | None = None,
        doubt: DoubtSettlement | None = None,
    ) -> Settlement:
        transition(DeliveryState.SENDING, state)  # a settlement only ever follows a claim
        destination = route_to or provider
        return Settlement(
            delivery_id=claim.id,
            attempt=claim.attempt,
            provider=provider,
            started_at=started,
            finished_at=self._clock(),
            outcome=outcome,
            new_state=state,
            next_attempt_at=next_at,
            status_code=status_code,
            provider_message_id=result.provider_message_id if result else None,
            raw_status=result.raw_status if result else None,
            error=error,
            reason=reason,
            route_to=destination if destination != claim.provider else None,
            failover_from=moved_from,
            counts=counts,
            recorded=claim.recorded or counts if recorded is None else recorded,
            doubt=doubt,
        )
