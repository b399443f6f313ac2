"""The order lifecycle: shipped, partly shipped, cancelled and refunded orders after their receipt.

An update joins the receipt of its order (found by sale id, else by order id, from whichever source
sent the sale) and goes out to the same people on the same channels as the receipt, with its own
template. Every update is recorded once per change (`update_key`) and once per platform event, in
ONE transaction with its deliveries and an audit entry. An update that arrives before its sale (a
fulfilment webhook overtaking the paid one) waits, and goes out when the receipt exists.

A message names the order as the shop does (`#1001`) when the sale or the update carries that name,
else by its order id. A cancellation is told against what already happened to the order: the lines
that shipped before it are still coming, a refund already announced (or carried by the cancellation)
is said with its amount, a voided payment or a zero sale was never charged.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from datetime import timedelta
from decimal import Decimal
from typing import Any

from app.domain.channels import Channel, Language
from app.domain.clock import Clock, utcnow
from app.domain.consent import NO_TEXT_GRANT, OPTED_OUT_SENTENCE, Purpose, group_of
from app.domain.contacts import mask_contact
from app.domain.intake import stored_sale
from app.domain.lifecycle import (
    NOT_SHIPPED_SKUS,
    Cancellation,
    OrderStatus,
    OrderUpdate,
    Tracking,
    UpdateLine,
    cancellation,
    shipment_progress,
)
from app.domain.reasons import stored_reason
from app.domain.receipt import StoreProfile
from app.domain.text_limits import DEFAULT_LIMITS, TextLimits, is_text
from app.rendering.updates import UpdateRenderer, build_update_view
from app.services.background import BackgroundTasks
from app.services.bus import DeliveriesQueued, EventBus, ReceiptCreated
from app.services.intake import UpdateResult
from app.services.text_limits import check_text
from app.storage import audit, consents, order_updates, outbox, sales
from app.storage.database import Database, UnitOfWork

log = logging.getLogger(__name__)

CUSTOMER_CHANNELS = frozenset({Channel.EMAIL.value, Channel.SMS.value, Channel.WHATSAPP.value, Channel.PUSH.value})
SHIPMENTS = frozenset({OrderStatus.SHIPPED, OrderStatus.FULFILLED, OrderStatus.PARTIALLY_SHIPPED})


class LifecycleService:
    """Applies order updates and sends the ones that waited for their receipt."""

    def __init__(
        self,
        db: Database,
        renderer: UpdateRenderer,
        store: StoreProfile,
        routing: Mapping[Channel, str],
        bus: EventBus,
        *,
        clock: Clock = utcnow,
        sweep_every: timedelta = timedelta(minutes=5),
        texts: TextLimits = DEFAULT_LIMITS,
    ) -> None:
        self.sweep_every = sweep_every
        self._texts = texts
        self._db = db
        self._renderer = renderer
        self._store = store
        self._routing = dict(routing)
        self._bus = bus
        self._clock = clock
        self._tasks = BackgroundTasks("order-update")
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        """Follow new receipts, and send what waited for a receipt that came while we were down.

        The sweep repeats every `sweep_every`: where several terminals share one database, an update
        and its sale can be written by two of them at the same moment, each not yet seeing the other.
        """
        self._unsubscribe = self._bus.subscribe(ReceiptCreated, self._on_receipt)
        self._tasks.start(self._sweep_loop(), "order-updates-sweep")

    async def _sweep_loop(self) -> None:
        while True:
            try:
                await self.send_waiting()
            except Exception:
                log.exception("waiting order updates could not be sent; trying again later")
            await asyncio.sleep(self.sweep_every.total_seconds())

    async def stop(self) -> None:
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None
        await self._tasks.cancel_all()

    async def apply(self, update: OrderUpdate) -> UpdateResult:
        """Record `update` and queue its message to the receipt's recipients. Idempotent."""
        result = await self._db.write(lambda session: self._apply(session, update))
        if result.deliveries:
            self._bus.publish(DeliveriesQueued(result.deliveries))
        return result

    async def send_waiting(self) -> int:
        """Send every waiting update whose receipt now exists; returns how many messages were queued."""
        queued = await self._db.write(self._send_all_waiting)
        if queued:
            self._bus.publish(DeliveriesQueued(queued))
        return queued

    def _on_receipt(self, event: ReceiptCreated) -> None:
        self._tasks.start(self._attach(event.store_id, event.sale_id), f"order-updates-{event.sale_id}")

    async def _attach(self, store_id: str, sale_id: str) -> None:
        if not await self._db.read(lambda session: _anything_waiting(session, store_id, sale_id)):
            return  # nearly every sale: no update of its order came first, and the writer is spared a transaction
        queued = await self._db.write(lambda session: self._send_waiting_for_sale(session, store_id, sale_id))
        if queued:
            self._bus.publish(DeliveriesQueued(queued))

    def _apply(self, session: UnitOfWork, update: OrderUpdate) -> UpdateResult:
        now = self._clock()
        if sales.seen_event(session, update.source, update.event_id) is not None:
            return UpdateResult(None, update.order_id, update.status.value, duplicate=True, receipt_id=None)
        sales.record_event(session, source=update.source, event_id=update.event_id, receipt_id=None, now=now)
        known = order_updates.find(session, update.store_id, update.order_id, update.update_key)
        if known is not None:  # the same change told twice (fulfillments/create, then /update)
            return UpdateResult(known.id, update.order_id, known.status.value, True, known.receipt_id)
        receipt = order_updates.receipt_for(session, update.store_id, order_id=update.order_id, sale_id=update.sale_id)
        update_id = order_updates.add(session, update, status=update.status, receipt_id=None, now=now)
        audit.append(
            session,
            at=now,
            actor=update.source,
            action="order.updated",
            subject=update.order_id,
            detail={"update_id": update_id, "status": update.status.value, "event_id": update.event_id},
        )
        if receipt is None:
            log.info("%s update of order %s waits for its sale", update.status.value, update.order_id)
            return UpdateResult(update_id, update.order_id, update.status.value, False, None)
        stored = order_updates.StoredUpdate(update_id, update.status, None, update.detail())
        status, queued = self._send(session, stored, receipt, update)
        return UpdateResult(update_id, update.order_id, status.value, False, receipt.receipt_id, queued)

    def _send_all_waiting(self, session: UnitOfWork) -> int:
        queued = 0
        for store_id, order_id, sale_id in order_updates.all_waiting(session):
            receipt = order_updates.receipt_for(session, store_id, order_id=order_id, sale_id=sale_id)
            if receipt is not None:
                queued += self._send_waiting_for_receipt(session, store_id, [order_id], receipt)
        return queued

    def _send_waiting_for_sale(self, session: UnitOfWork, store_id: str, sale_id: str) -> int:
        keys = _order_keys(session, store_id, sale_id)
        if keys is None:
            return 0
        receipt = order_updates.receipt_for(session, store_id, order_id=keys[0], sale_id=sale_id)
        return 0 if receipt is None else self._send_waiting_for_receipt(session, store_id, keys, receipt)

    def _send_waiting_for_receipt(
        self, session: UnitOfWork, store_id: str, order_ids: list[str], receipt: order_updates.ReceiptOfOrder
    ) -> int:
        queued = 0
        for stored in order_updates.waiting(session, store_id, order_ids):
            _, count = self._send(session, stored, receipt, None)
            queued += count
        return queued

    def _send(
        self,
        session: UnitOfWork,
        stored: order_updates.StoredUpdate,
        receipt: order_updates.ReceiptOfOrder,
        update: OrderUpdate | None,
    ) -> tuple[OrderStatus, int]:
        """Resolve the update against the sale, render it, attach it to the receipt, queue its messages."""
        sale = stored_sale(receipt.sale_payload)
        detail = stored.detail
        lines = tuple(
            UpdateLine(str(ln["name"]), _decimal(ln["quantity"]), ln.get("sku")) for ln in detail.get("lines", [])
        )
        tracking = tuple(Tracking(t.get("company"), t.get("number"), t.get("url")) for t in detail.get("tracking", []))
        status = stored.status
        pending: tuple[UpdateLine, ...] = ()
        refund = detail.get("refund_amount")
        cancelled: Cancellation | None = None
        ordered = [
            UpdateLine(item.name, item.quantity, item.sku)
            for item in sale.items
            if (item.sku or "").upper() not in NOT_SHIPPED_SKUS
        ]
        earlier = [
            tuple(UpdateLine(str(ln["name"]), _decimal(ln["quantity"]), ln.get("sku")) for ln in shipment["lines"])
            for shipment in order_updates.shipments(session, receipt.receipt_id)
        ]
        if status is OrderStatus.CANCELLED:
            told = _decimal(refund) if refund is not None else Decimal(0)
            cancelled = cancellation(
                ordered,
                earlier,
                charged=not detail.get("voided") and sale.total > 0,
                refunded=max(order_updates.refunded_total(session, receipt.receipt_id), told),
            )
        if status in SHIPMENTS:
            progress = shipment_progress(ordered, [*earlier, lines])
            before = shipment_progress(ordered, earlier)
            status = OrderStatus.FULFILLED if progress.complete else OrderStatus.PARTIALLY_SHIPPED
            pending = progress.pending
            if not lines:  # a whole-order fulfilment: it shipped whatever was still to come
                lines = before.pending
        occurred = update.occurred_at if update is not None else self._clock()
        view = build_update_view(
            status=status,
            store=self._store,
            language=_language(receipt.language),
            order_label=sale.order_name or detail.get("order_name") or sale.order_id or sale.sale_id,
            occurred_at=occurred.astimezone(sale.occurred_at.tzinfo),
            lines=lines,
            pending=pending,
            tracking=tracking,
            refund_amount=None if refund is None else _decimal(refund),
            reason=stored_reason(detail.get("reason")),
            cancellation=cancelled,
        )
        rendered = self._renderer.render(view)
        order_updates.set_message(
            session,
            stored.id,
            status=status,
            receipt_id=receipt.receipt_id,
            subject=rendered.subject,
            text=rendered.text,
        )
        now = self._clock()
        queued = 0
        for target in order_updates.recipients(session, receipt.receipt_id, CUSTOMER_CHANNELS):
            channel = Channel(target.channel)
            refusal = _consent_refusal(session, channel, target.recipient) or (
                check_text(session, channel, target.recipient, self._texts, now=now).refusal
            )
            if refusal is not None:  # refused by consent or the text limits: it goes out on the other channels
                log.warning(
                    "%s notice of order %s to %s not queued: %s",
                    channel.value,
                    sale.order_id or sale.sale_id,
                    mask_contact(target.recipient),
                    refusal,
                )
                audit.append(
                    session,
                    at=now,
                    actor="lifecycle",
                    action="order.text_refused",
                    subject=sale.order_id or sale.sale_id,
                    detail={"update_id": stored.id, "channel": channel.value, "why": refusal},
                )
                continue
            outbox.new_delivery(
                session,
                receipt_id=receipt.receipt_id,
                channel=channel,
                provider=self._routing.get(channel, target.provider),
                recipient=target.recipient,
                now=now,
                context={
                    "subject": rendered.subject,
                    "html": rendered.html,
                    "text": rendered.text,
                    "sms": rendered.sms,
                    "metadata": {"kind": "order_update", "status": status.value, "order_id": sale.order_id or ""},
                },
                idempotency_key=order_updates.delivery_key(stored.id, channel.value),
            )
            queued += 1
        return status, queued


def _order_keys(session: UnitOfWork, store_id: str, sale_id: str) -> list[str] | None:
    """The keys an update of this sale's order is filed under (its order id, its sale id); None: no such sale."""
    found = sales.find_sale(session, store_id, sale_id)
    if found is None:
        return None
    return [k for k in (sales.order_id_of(session, found.pk), sale_id) if k]


def _anything_waiting(session: UnitOfWork, store_id: str, sale_id: str) -> bool:
    """Whether an update of this sale's order waits for it. An update that comes after this look finds the
    sale's receipt itself (the sale is committed before its receipt is announced)."""
    keys = _order_keys(session, store_id, sale_id)
    return keys is not None and order_updates.any_waiting(session, store_id, keys)


def _consent_refusal(session: UnitOfWork, channel: Channel, recipient: str) -> str | None:
    """Why the consent ledger stops an order update to `recipient` on `channel`, or None.

    An update goes where the receipt of the same order went: it is a message about the purchase the
    customer asked that receipt for. An opt-out stops it; so does a revocation of order updates (the
    newest order-updates row of the contact). A text needs a grant: for order updates when one was
    recorded (a sale that is an order records it with the receipt's grant), else the receipt's.
    """
    group = group_of(channel)
    if group is None:
        return None
    if consents.opted_out(session, group, recipient):
        return OPTED_OUT_SENTENCE[group]
    answer = consents.latest(session, channel, recipient, purpose=Purpose.ORDER_UPDATES)
    if answer is False:
        return "The customer stopped order updates on this channel."
    if is_text(channel) and answer is None and not consents.covers(session, channel, recipient):
        return NO_TEXT_GRANT
    return None


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def _language(value: str) -> Language:
    try:
        return Language(value)
    except ValueError:
        return Language.EN
