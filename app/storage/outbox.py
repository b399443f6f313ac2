"""The outbox: deliveries waiting to go out, claimed under a lease, settled with their attempts.

A claim moves due rows to `sending` and pushes `next_attempt_at` to the lease's end, so a worker
that dies mid-send leaves rows that become due again when the lease runs out. The attempt counter
doubles as a fencing token: a settlement only lands on the claim it belongs to.

Each attempt is written (`sending`) before its request leaves (`record_intent`) and updated when
its answer is in (`settle`). A claim that finds the latest attempt still `sending` (its worker
died) turns it `in_doubt` and carries it, as it carries an `unknown` one (a timeout): the
dispatcher settles the doubt before anything is sent again.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import (
    Integer,
    Select,
    Table,
    and_,
    bindparam,
    delete,
    func,
    insert,
    or_,
    select,
    tuple_,
    union_all,
    update,
)
from sqlalchemy.orm import Session

from app.domain.channels import Channel
from app.domain.consent import OPTED_OUT, contact_digest, group_of
from app.domain.contacts import mask_contact
from app.domain.delivery import ACTIVE, DeliveryState
from app.domain.doubt import AttemptOutcome, SettledBy
from app.domain.keywords import OPT_OUT_CONFIRMATION as _CONFIRMATION
from app.domain.records import (
    TEMPLATE_REFUSED,
    AttemptRecord,
    ClaimedDelivery,
    DeliveryRecord,
    DoubtfulAttempt,
    DoubtSettlement,
    HeldDelivery,
    QueueStatus,
    Settlement,
)
from app.storage import audit
from app.storage.models import AttemptRow, DeliveryRow, OptOutRow, ReceiptRow, SaleRow

_ACTIVE = [s.value for s in ACTIVE]
_DELIVERIES = cast(Table, DeliveryRow.__table__)
_ATTEMPTS = cast(Table, AttemptRow.__table__)
_RECEIPTS = cast(Table, ReceiptRow.__table__)
_SALES = cast(Table, SaleRow.__table__)
_OPEN = (AttemptOutcome.SENDING.value, AttemptOutcome.IN_DOUBT.value, AttemptOutcome.UNKNOWN.value)
"""Outcomes of an attempt that may have reached the customer without anyone knowing."""
_RESENT = (SettledBy.RESENT.value, SettledBy.SENT_BY_MANAGER.value)
"""Doubts settled by sending again: every later send of the delivery may be a second message."""


_CONTENT = select(
    _DELIVERIES.c.id,
    _DELIVERIES.c.receipt_id,
    _SALES.c.sale_id,
    _DELIVERIES.c.channel,
    _DELIVERIES.c.provider,
    _DELIVERIES.c.recipient,
    _DELIVERIES.c.state,
    _DELIVERIES.c.attempts,
    _DELIVERIES.c.idempotency_key,
    _DELIVERIES.c.created_at,
    _DELIVERIES.c.context,
    _RECEIPTS.c.subject,
    _RECEIPTS.c.html,
    _RECEIPTS.c.text,
    _RECEIPTS.c.sms_body,
    _RECEIPTS.c.template_data,
).select_from(
    _DELIVERIES.outerjoin(_RECEIPTS, _RECEIPTS.c.id == _DELIVERIES.c.receipt_id).outerjoin(
        _SALES, _SALES.c.id == _RECEIPTS.c.sale_pk
    )
)
_DUE = _CONTENT.where(_DELIVERIES.c.state.in_(_ACTIVE)).order_by(_DELIVERIES.c.next_attempt_at)
"""Due deliveries with what they send (a receipt's content, its sale's id), oldest due first: `claim_due`
adds the time and the limit (on PostgreSQL; SQLite finds the ids with `_due_ids` and reads `_CONTENT` by
key). Built once, as the statements below: they run for every few sends."""


def _due_ids() -> Select[tuple[str]]:
    d = _DELIVERIES.c
    now = bindparam("now", type_=d.next_attempt_at.type)
    limit = bindparam("limit", type_=Integer)
    walks = [
        select(d.id, d.next_attempt_at).where(d.state == state, d.next_attempt_at <= now).order_by(d.next_attempt_at)
        for state in sorted(_ACTIVE)
    ]
    due = union_all(*(select(w.limit(limit).subquery()) for w in walks)).subquery()
    return select(due.c.id).order_by(due.c.next_attempt_at).limit(limit)


_DUE_IDS = _due_ids()
"""The ids of the deliveries due first (`now`, `limit`): one ordered walk of `ix_deliveries_due` per active
state. `state IN (...) ORDER BY next_attempt_at` cannot be read in order from that index: SQLite then reads,
joins and sorts every due row, and with a backlog of thousands each claim cost milliseconds."""

_TAKE = (
    update(_DELIVERIES)
    .where(_DELIVERIES.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        state=DeliveryState.SENDING.value,
        attempts=_DELIVERIES.c.attempts + 1,
        lease_owner=bindparam("owner"),
        next_attempt_at=bindparam("until", type_=_DELIVERIES.c.next_attempt_at.type),
        updated_at=bindparam("now", type_=_DELIVERIES.c.updated_at.type),
    )
)
"""A claim: each row `sending` under its owner's lease, its attempt counter (the fence) one up."""

_FINISH = (
    update(_ATTEMPTS)
    .where(
        _ATTEMPTS.c.delivery_id == bindparam("d"),
        _ATTEMPTS.c.number == bindparam("n"),
        # its own row, still open (or turned in doubt by a claim that took it over); plain comparisons,
        # as an IN list cannot be used with many parameter sets
        or_(_ATTEMPTS.c.outcome == AttemptOutcome.SENDING.value, _ATTEMPTS.c.outcome == AttemptOutcome.IN_DOUBT.value),
    )
    .values(
        provider=bindparam("provider"),
        finished_at=bindparam("finished_at", type_=_ATTEMPTS.c.finished_at.type),
        outcome=bindparam("outcome"),
        status_code=bindparam("status_code"),
        provider_message_id=bindparam("provider_message_id"),
        raw_status=bindparam("raw_status"),
        error=bindparam("error"),
    )
)
"""An attempt written before its request left gets its outcome."""

_UNSENT = delete(_ATTEMPTS).where(
    _ATTEMPTS.c.delivery_id == bindparam("d"),
    _ATTEMPTS.c.number == bindparam("n"),
    _ATTEMPTS.c.outcome == AttemptOutcome.SENDING.value,
)
"""An attempt written at its claim whose request has not left (it is written again, or handed back)."""

_SETTLE = (
    update(_DELIVERIES)
    .where(
        _DELIVERIES.c.id == bindparam("d"),
        _DELIVERIES.c.attempts == bindparam("n"),
        _DELIVERIES.c.state == DeliveryState.SENDING.value,
    )
    .values(
        state=bindparam("new_state"),
        updated_at=bindparam("at", type_=_DELIVERIES.c.updated_at.type),
        lease_owner=None,
        last_error=bindparam("err"),
        reason=bindparam("why"),
        # what a settlement does not say stays as it was
        next_attempt_at=func.coalesce(
            bindparam("next_at", type_=_DELIVERIES.c.next_attempt_at.type), _DELIVERIES.c.next_attempt_at
        ),
        provider_message_id=func.coalesce(bindparam("message_id"), _DELIVERIES.c.provider_message_id),
        provider=func.coalesce(bindparam("route"), _DELIVERIES.c.provider),
        attempts=func.coalesce(bindparam("back_to"), _DELIVERIES.c.attempts),
    )
)
"""A settled delivery moves on, under its claim's fence."""


_HOLDING = (
    select(_DELIVERIES.c.id, _DELIVERIES.c.attempts)
    .where(
        tuple_(_DELIVERIES.c.id, _DELIVERIES.c.attempts).in_(bindparam("keys", expanding=True)),
        _DELIVERIES.c.state == DeliveryState.SENDING.value,
    )
    .with_for_update()
)
"""Of these claims (`keys`: delivery id, attempt number), those still held: `sending` at that attempt."""

_HOLDING_FOR = select(_DELIVERIES.c.id, _DELIVERIES.c.attempts).where(
    tuple_(_DELIVERIES.c.id, _DELIVERIES.c.attempts).in_(bindparam("keys", expanding=True)),
    _DELIVERIES.c.state == DeliveryState.SENDING.value,
    _DELIVERIES.c.lease_owner.in_(bindparam("owners", expanding=True)),
)
"""Of these claims, those still held by one of `owners`: the fence an intent is written under. Built once,
as the statements above: a statement built per call cost the writer a bind parameter per key each time."""


@dataclass(frozen=True, slots=True)
class Intent:
    """An attempt about to leave: written `sending` before the request does, under the claim's fence."""

    delivery_id: str
    number: int
    provider: str
    started_at: datetime
    owner: str
    possible_duplicate: bool = False
    doubt: DoubtSettlement | None = None  # the attempt in doubt this send settles (not found, or resent)
    rewrite: bool = False  # replaces the attempt written at the claim, which named another provider


@dataclass(frozen=True, slots=True)
class NewDelivery:
    id: str
    channel: Channel
    provider: str
    recipient: str
    state: DeliveryState


def new_delivery(
    session: Session,
    *,
    receipt_id: str | None,
    channel: Channel,
    provider: str,
    recipient: str,
    now: datetime,
    context: dict[str, Any] | None = None,
    idempotency_key: str | None = None,
) -> NewDelivery:
    """Queue one delivery, due now, with an idempotency key that stays the same on every retry.

    `context` carries extra message metadata, and for a delivery that is not a receipt its content
    (`subject`, `text`, `html`). A given `idempotency_key` makes queueing the same thing twice fail.
    """
    delivery_id = str(uuid.uuid4())
    session.connection().execute(
        insert(DeliveryRow),
        {
            "id": delivery_id,
            "receipt_id": receipt_id,
            "channel": channel.value,
            "provider": provider,
            "recipient": recipient,
            "state": DeliveryState.QUEUED.value,
            "attempts": 0,
            "next_attempt_at": now,
            "idempotency_key": idempotency_key or f"rd-{delivery_id}",
            "context": json.dumps(context, sort_keys=True) if context else None,
            "created_at": now,
            "updated_at": now,
        },
    )
    return NewDelivery(delivery_id, channel, provider, recipient, DeliveryState.QUEUED)


def claim_due(
    session: Session,
    *,
    owner: str,
    now: datetime,
    lease: timedelta,
    limit: int,
    skip_locked: bool,
    record: int | None = None,
) -> list[ClaimedDelivery]:
    """Take up to `limit` due deliveries (queued, unknown, or sending with an expired lease).

    A delivery whose latest attempt is still `sending` (its worker died) or `unknown` (a timeout) comes
    with that attempt as its `doubt`; a `sending` one turns `in_doubt` in this same transaction.

    The first `record` claims without a doubt (all of them when None) are sent at once: their attempts are
    written `sending` here and they come `recorded`. The others wait for a worker, and the attempt of each
    is written (`record_intent`) when one starts it: a crash meanwhile leaves no attempt in doubt that never
    left. The claims come in the order they came due, those recorded first.
    """
    connection = session.connection()
    if skip_locked:
        due = _DUE.where(_DELIVERIES.c.next_attempt_at <= now).limit(limit)
        found = connection.execute(due.with_for_update(skip_locked=True, of=_DELIVERIES)).all()
    else:  # the write lock is held (BEGIN IMMEDIATE): the ids first, each state along its index; then by key
        ids = list(connection.execute(_DUE_IDS, {"now": now, "limit": limit}).scalars())
        if not ids:
            return []
        order = {delivery_id: n for n, delivery_id in enumerate(ids)}
        found = sorted(connection.execute(_CONTENT.where(_DELIVERIES.c.id.in_(ids))).all(), key=lambda r: order[r.id])
    stopped = _opted_out(session, [row for row in found if row.attempts and row.state == DeliveryState.QUEUED.value])
    if stopped:
        connection.execute(
            update(_DELIVERIES)
            .where(_DELIVERIES.c.id.in_(stopped))
            .values(state=DeliveryState.DEAD.value, reason=OPTED_OUT, lease_owner=None, updated_at=now)
        )
        found = [row for row in found if row.id not in stopped]
    if not found:
        return []
    doubts = _doubts(session, [row.id for row in found if row.state != DeliveryState.QUEUED.value])
    duplicates = _resent(session, [row.id for row in found if row.attempts])  # a fresh one has no past
    refused = _template_refused(session, [row.id for row in found if row.attempts and row.template_data])
    if any(d.outcome == AttemptOutcome.SENDING.value for d in doubts.values()):
        a = AttemptRow.__table__.c
        connection.execute(
            update(_ATTEMPTS)
            .where(
                a.delivery_id == bindparam("d"), a.number == bindparam("n"), a.outcome == AttemptOutcome.SENDING.value
            )
            .values(outcome=AttemptOutcome.IN_DOUBT.value),
            [{"d": k, "n": v.number} for k, v in doubts.items() if v.outcome == AttemptOutcome.SENDING.value],
        )
        doubts = {
            k: DoubtfulAttempt(v.number, v.provider, v.started_at, AttemptOutcome.IN_DOUBT.value)
            if v.outcome == AttemptOutcome.SENDING.value
            else v
            for k, v in doubts.items()
        }
    connection.execute(_TAKE, {"ids": [row.id for row in found], "owner": owner, "until": now + lease, "now": now})
    # The claim is the intent: each delivery claimed without a doubt to settle first and sent right
    # away has its attempt written (`sending`) in this transaction, before its request can leave.
    # Its number is the counter the claim just moved on: `attempts + 1` of the row as it was read.
    starting = [row for row in found if row.id not in doubts]
    if record is not None:
        starting = starting[: max(0, record)]
        first = {row.id for row in starting}
        found = [row for row in found if row.id in first] + [row for row in found if row.id not in first]
    if starting:
        connection.execute(
            insert(AttemptRow),
            [
                {
                    "delivery_id": row.id,
                    "number": row.attempts + 1,
                    "provider": row.provider,
                    "started_at": now,
                    "finished_at": None,
                    "outcome": AttemptOutcome.SENDING.value,
                    "possible_duplicate": row.id in duplicates,
                }
                for row in starting
            ],
        )
    recorded = {row.id for row in starting}
    claims = []
    for row in found:
        context: dict[str, Any] = json.loads(row.context) if row.context else {}
        own = "subject" in context
        claims.append(
            ClaimedDelivery(
                id=row.id,
                receipt_id=row.receipt_id,
                sale_id=row.sale_id,
                channel=Channel(row.channel),
                provider=row.provider,
                recipient=row.recipient,
                attempt=row.attempts + 1,
                idempotency_key=row.idempotency_key,
                created_at=row.created_at,
                # A message with content of its own (an order update, a summary) sends that content,
                # even when it belongs to a receipt; follow-ups carry only metadata and send the receipt.
                subject=str(context["subject"]) if own else row.subject or "",
                html=str(context.get("html", "")) if own else row.html or "",
                text=str(context.get("text", "")) if own else row.text or "",
                sms_body=str(context.get("sms", context.get("text", ""))) if own else row.sms_body or "",
                metadata={str(k): str(v) for k, v in dict(context.get("metadata", {})).items()},
                doubt=doubts.get(row.id),
                possible_duplicate=row.id in duplicates,
                recorded=row.id in recorded,
                template_data=None if own else row.template_data,
                own_design=row.id in refused,
            )
        )
    return claims


def _opted_out(session: Session, rows: Sequence[Any]) -> set[str]:
    """Which of these retries go to a contact that opted out since they were queued.

    A revocation cancels what is queued, but a delivery that was `sending` then comes back for a retry
    later (or a manager retries it); a first send was checked when it was queued. The STOP's own
    confirmation goes to the number that stopped, and is let through.
    """
    wanted: dict[tuple[str, str], list[str]] = {}
    for row in rows:
        group = group_of(Channel(row.channel))
        if group is None or (row.context and json.loads(row.context).get("metadata", {}).get("kind") == _CONFIRMATION):
            continue
        wanted.setdefault((group.value, contact_digest(row.recipient)), []).append(row.id)
    if not wanted:
        return set()
    o = OptOutRow.__table__.c
    found = session.connection().execute(
        select(o.channel_group, o.contact_digest).where(tuple_(o.channel_group, o.contact_digest).in_(list(wanted)))
    )
    return {delivery_id for key in found for delivery_id in wanted[(key[0], key[1])]}


def _template_refused(session: Session, delivery_ids: Sequence[str]) -> set[str]:
    """Which of these deliveries had a template send refused: they send our own rendering from now on."""
    if not delivery_ids:
        return set()
    a = _ATTEMPTS.c
    query = select(a.delivery_id).where(a.delivery_id.in_(delivery_ids), a.outcome == TEMPLATE_REFUSED).distinct()
    return set(session.scalars(query))


def _doubts(session: Session, delivery_ids: Sequence[str]) -> dict[str, DoubtfulAttempt]:
    """Of these deliveries (sending with an expired lease, or unknown): the latest attempt of each when it
    is still open."""
    if not delivery_ids:
        return {}
    a = _ATTEMPTS.c
    latest = (
        select(a.delivery_id, func.max(a.number).label("number"))
        .where(a.delivery_id.in_(delivery_ids))
        .group_by(a.delivery_id)
        .subquery()
    )
    rows = session.execute(
        select(a.delivery_id, a.number, a.provider, a.started_at, a.outcome)
        .join(latest, and_(a.delivery_id == latest.c.delivery_id, a.number == latest.c.number))
        .where(a.outcome.in_(_OPEN), a.settled_by.is_(None))
    ).all()
    return {r.delivery_id: DoubtfulAttempt(r.number, r.provider, r.started_at, r.outcome) for r in rows}


def _resent(session: Session, delivery_ids: Sequence[str]) -> set[str]:
    """Which of these deliveries were sent again over a doubt: what they send now may be a second message."""
    if not delivery_ids:
        return set()
    a = _ATTEMPTS.c
    query = select(a.delivery_id).where(a.delivery_id.in_(delivery_ids), a.settled_by.in_(_RESENT)).distinct()
    return set(session.scalars(query))


def record_intent(session: Session, intents: Sequence[Intent]) -> list[Intent]:
    """Write each attempt `sending` before its request leaves; return those whose claim still held.

    The claim is the fence: its delivery must still be `sending` under this owner at this attempt
    number. The doubts settled by these sends are recorded with them. One query, one insert for all.
    """
    if not intents:
        return []
    keys = [(i.delivery_id, i.number) for i in intents]
    owners = sorted({i.owner for i in intents})
    holding = set(session.connection().execute(_HOLDING_FOR, {"keys": keys, "owners": owners}))
    held = [i for i in intents if (i.delivery_id, i.number) in holding]
    if not held:
        return []
    # An attempt written at its claim and sent elsewhere (failover) is written again, naming where it goes.
    rewritten = [{"d": i.delivery_id, "n": i.number} for i in held if i.rewrite]
    if rewritten:
        session.connection().execute(_UNSENT, rewritten)
    session.connection().execute(
        insert(AttemptRow),
        [
            {
                "delivery_id": i.delivery_id,
                "number": i.number,
                "provider": i.provider,
                "started_at": i.started_at,
                "finished_at": None,
                "outcome": AttemptOutcome.SENDING.value,
                "possible_duplicate": i.possible_duplicate,
            }
            for i in held
        ],
    )
    for i in held:
        if i.doubt is not None:
            _settle_doubt(session, i.delivery_id, i.doubt, at=i.started_at, actor=None)
    return held


def _settle_doubt(
    session: Session, delivery_id: str, doubt: DoubtSettlement, *, at: datetime, actor: str | None
) -> None:
    """Say how the attempt in doubt was settled, and audit it (`delivery.in_doubt_settled`)."""
    values: dict[str, object] = {"settled_by": doubt.settled_by, "settled_at": at, "settled_actor": actor}
    if doubt.settled_by == SettledBy.LOOKUP_FOUND.value:
        values["outcome"] = AttemptOutcome.SENT.value
        values["provider_message_id"] = doubt.provider_message_id
        values["raw_status"] = doubt.raw_status
    a = AttemptRow.__table__.c
    session.connection().execute(
        update(_ATTEMPTS).where(a.delivery_id == delivery_id, a.number == doubt.number).values(**values)
    )
    detail: dict[str, object] = {"number": doubt.number, "provider": doubt.provider, "how": doubt.settled_by}
    if doubt.provider_message_id:
        detail["provider_message_id"] = doubt.provider_message_id
    audit.append(
        session,
        at=at,
        actor=actor or "dispatcher",
        action="delivery.in_doubt_settled",
        subject=delivery_id,
        detail=detail,
    )
    if doubt.settled_by == SettledBy.HELD.value:
        audit.append(
            session,
            at=at,
            actor="dispatcher",
            action="delivery.held",
            subject=delivery_id,
            detail={"number": doubt.number, "provider": doubt.provider},
        )


def renew(session: Session, claims: Sequence[tuple[str, int]], *, owner: str, until: datetime) -> int:
    """Extend the leases of claims still in flight, in one statement; a claim taken over is left alone."""
    if not claims:
        return 0
    d = DeliveryRow.__table__.c
    result = session.connection().execute(
        update(_DELIVERIES)
        .where(
            d.lease_owner == owner,
            d.state == DeliveryState.SENDING.value,
            tuple_(d.id, d.attempts).in_([tuple(c) for c in claims]),
        )
        .values(next_attempt_at=until)
    )
    return int(result.rowcount)


def settle(session: Session, settlements: Sequence[Settlement]) -> list[Settlement]:
    """Record each attempt's outcome and move its delivery on; return the settlements that still held their claim.

    An attempt written before its request left is updated, whether or not its claim still holds (its
    outcome is its own); only a settlement that holds its claim moves the delivery. Plain Core
    statements: this runs for every attempt, and the ORM's unit of work is not needed here.
    """
    if not settlements:
        return []
    connection = session.connection()
    recorded = [s for s in settlements if s.counts and s.recorded]
    if recorded:
        connection.execute(
            _FINISH,
            [
                {
                    "d": s.delivery_id,
                    "n": s.attempt,
                    "provider": s.provider,
                    "finished_at": s.finished_at,
                    "outcome": s.outcome,
                    "status_code": s.status_code,
                    "provider_message_id": s.provider_message_id,
                    "raw_status": s.raw_status,
                    "error": s.error,
                }
                for s in recorded
            ],
        )
    unrecorded = [s for s in settlements if s.counts and not s.recorded]
    if unrecorded:
        connection.execute(
            insert(AttemptRow),
            [
                {
                    "delivery_id": s.delivery_id,
                    "number": s.attempt,
                    "provider": s.provider,
                    "started_at": s.started_at,
                    "finished_at": s.finished_at,
                    "outcome": s.outcome,
                    "status_code": s.status_code,
                    "provider_message_id": s.provider_message_id,
                    "raw_status": s.raw_status,
                    "error": s.error,
                }
                for s in unrecorded
            ],
        )
    # The attempt number is the fencing token: a claim taken over by another worker is not overwritten.
    keys = [(s.delivery_id, s.attempt) for s in settlements]
    holding = {(row.id, row.attempts) for row in connection.execute(_HOLDING, {"keys": keys})}
    landed = [s for s in settlements if (s.delivery_id, s.attempt) in holding]
    if landed:
        connection.execute(_SETTLE, [_settle_params(s) for s in landed])
    for s in landed:
        if not s.counts and s.recorded:  # written at the claim, but nothing left: no attempt after all
            _forget_attempt(session, s.delivery_id, s.attempt)
        if s.doubt is not None:
            _settle_doubt(session, s.delivery_id, s.doubt, at=s.finished_at, actor=None)
        if s.failover_from:
            audit.append(
                session,
                at=s.finished_at,
                actor="dispatcher",
                action="delivery.failover",
                subject=s.delivery_id,
                detail={"from": s.failover_from, "to": s.route_to or s.provider, "outcome": s.outcome},
            )
    return landed


def _settle_params(s: Settlement) -> dict[str, object]:
    return {
        "d": s.delivery_id,
        "n": s.attempt,
        "new_state": s.new_state.value,
        "at": s.finished_at,
        "err": s.error,
        "why": s.reason,
        "next_at": s.next_attempt_at,
        "message_id": s.provider_message_id or None,
        "route": s.route_to or None,
        "back_to": None if s.counts else s.attempt - 1,  # nothing left: the claim is not counted
    }


def _forget_attempt(session: Session, delivery_id: str, number: int) -> None:
    """Delete an attempt written at its claim whose request never left."""
    a = _ATTEMPTS.c
    session.connection().execute(
        delete(_ATTEMPTS).where(
            a.delivery_id == delivery_id, a.number == number, a.outcome == AttemptOutcome.SENDING.value
        )
    )


def release(
    session: Session, claims: Sequence[tuple[str, int]], *, now: datetime, doubtful: Collection[str] = ()
) -> int:
    """Hand back claims that were never attempted: due again now, the claim not counted as an attempt,
    and the attempt written at the claim deleted (its request never left).

    A claim that carried an attempt in doubt (`doubtful`, by delivery id) goes back `unknown`: the next
    claim then carries that doubt again, where a `queued` delivery would be taken as having none."""
    released = 0
    for delivery_id, attempt in claims:
        state = DeliveryState.UNKNOWN if delivery_id in doubtful else DeliveryState.QUEUED
        result = session.execute(
            update(DeliveryRow)
            .where(
                DeliveryRow.id == delivery_id,
                DeliveryRow.attempts == attempt,
                DeliveryRow.state == DeliveryState.SENDING.value,
            )
            .values(state=state.value, attempts=attempt - 1, next_attempt_at=now, lease_owner=None)
            .execution_options(synchronize_session=False)
        )
        if result.rowcount:  # type: ignore[attr-defined]
            _forget_attempt(session, delivery_id, attempt)
        released += int(result.rowcount)  # type: ignore[attr-defined]
    return released


def requeue(session: Session, delivery_ids: Sequence[str], *, now: datetime, states: Sequence[DeliveryState]) -> int:
    """Put deliveries in any of `states` back in the queue, due now; return how many moved."""
    result = session.execute(
        update(DeliveryRow)
        .where(DeliveryRow.id.in_(delivery_ids), DeliveryRow.state.in_([s.value for s in states]))
        .values(state=DeliveryState.QUEUED.value, next_attempt_at=now, updated_at=now, reason=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount)  # type: ignore[attr-defined]


def known_ids(session: Session, delivery_ids: Sequence[str]) -> set[str]:
    """Which of `delivery_ids` are deliveries in the outbox."""
    return set(session.scalars(select(DeliveryRow.id).where(DeliveryRow.id.in_(delivery_ids))))


def ids_in_states(session: Session, states: Sequence[DeliveryState], limit: int = 100_000) -> list[str]:
    query = select(DeliveryRow.id).where(DeliveryRow.state.in_([s.value for s in states])).limit(limit)
    return list(session.scalars(query))


def status(session: Session, *, now: datetime) -> QueueStatus:
    counts = dict(session.execute(select(DeliveryRow.state, func.count()).group_by(DeliveryRow.state)).all())
    due, oldest_due = session.execute(
        select(func.count(), func.min(DeliveryRow.next_attempt_at)).where(
            and_(DeliveryRow.state.in_(_ACTIVE), DeliveryRow.next_attempt_at <= now)
        )
    ).one()
    oldest = session.scalar(select(func.min(DeliveryRow.created_at)).where(DeliveryRow.state.in_(_ACTIVE)))
    return QueueStatus(
        by_state={str(k): int(v) for k, v in counts.items()},
        due_now=int(due or 0),
        oldest_pending_at=_aware(oldest, now),
        oldest_due_at=_aware(oldest_due, now),
    )


def _aware(value: datetime | str | None, now: datetime) -> datetime | None:
    """An aggregate's datetime with its zone: aggregate results bypass the column type on SQLite."""
    if value is None or (isinstance(value, datetime) and value.tzinfo is not None):
        return value
    return datetime.fromisoformat(str(value)).replace(tzinfo=now.tzinfo)


def to_record(row: DeliveryRow) -> DeliveryRecord:
    return DeliveryRecord(
        id=row.id,
        receipt_id=row.receipt_id or "",
        channel=Channel(row.channel),
        provider=row.provider,
        recipient=row.recipient,
        state=DeliveryState(row.state),
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        provider_message_id=row.provider_message_id,
        last_error=row.last_error,
        reason=row.reason,
        created_at=row.created_at,
        updated_at=row.updated_at,
    )


def held_deliveries(session: Session) -> list[HeldDelivery]:
    """Deliveries held for a manager, longest waiting first, recipients masked."""
    d = DeliveryRow.__table__.c
    rows = session.execute(
        select(d.id, d.receipt_id, d.channel, d.provider, d.recipient, d.updated_at)
        .where(d.state == DeliveryState.HELD.value)
        .order_by(d.updated_at, d.id)
    ).all()
    return [
        HeldDelivery(r.id, r.receipt_id, Channel(r.channel), r.provider, mask_contact(r.recipient), r.updated_at)
        for r in rows
    ]


def held_count(session: Session) -> int:
    """How many deliveries wait for a manager's decision."""
    return int(session.scalar(select(func.count()).where(DeliveryRow.state == DeliveryState.HELD.value)) or 0)


def possible_duplicates(session: Session, since: datetime) -> dict[str, int]:
    """Per provider, how many deliveries had an attempt started since `since` that may be a second message."""
    a = AttemptRow.__table__.c
    rows = session.execute(
        select(a.provider, func.count(func.distinct(a.delivery_id)))
        .where(a.possible_duplicate.is_(True), a.started_at >= since)
        .group_by(a.provider)
    ).all()
    return {str(provider): int(n) for provider, n in rows}


def decide_held(
    session: Session,
    delivery_id: str,
    *,
    now: datetime,
    actor: str,
    send: bool,
    reason: str | None = None,
) -> DeliveryState | None:
    """A manager's decision on a held delivery: send it again (queued, due now) or drop it (dead).

    Returns the state it was in when it was not held (nothing changes), None when there is no such
    delivery. The held attempt says who decided and how, and the decision is audited.
    """
    d = DeliveryRow.__table__.c
    state = session.scalar(select(d.state).where(d.id == delivery_id))
    if state is None:
        return None
    if state != DeliveryState.HELD.value:
        return DeliveryState(state)
    values: dict[str, object] = {"updated_at": now, "lease_owner": None}
    if send:
        values |= {"state": DeliveryState.QUEUED.value, "next_attempt_at": now, "reason": None}
    else:
        values |= {"state": DeliveryState.DEAD.value, "reason": reason}
    session.connection().execute(
        update(_DELIVERIES).where(d.id == delivery_id, d.state == DeliveryState.HELD.value).values(**values)
    )
    a = AttemptRow.__table__.c
    held = session.execute(
        select(a.number, a.provider)
        .where(a.delivery_id == delivery_id, a.settled_by == SettledBy.HELD.value)
        .order_by(a.number.desc())
        .limit(1)
    ).first()
    how = SettledBy.SENT_BY_MANAGER if send else SettledBy.DROPPED
    if held is not None:
        session.connection().execute(
            update(_ATTEMPTS)
            .where(a.delivery_id == delivery_id, a.number == held.number)
            .values(settled_by=how.value, settled_at=now, settled_actor=actor)
        )
    detail: dict[str, object] = {"how": how.value}
    if held is not None:
        detail |= {"number": held.number, "provider": held.provider}
    if reason:
        detail["reason"] = reason
    audit.append(session, at=now, actor=actor, action="delivery.in_doubt_settled", subject=delivery_id, detail=detail)
    return DeliveryState.HELD


def attempts_for(session: Session, delivery_ids: Sequence[str]) -> dict[str, tuple[AttemptRecord, ...]]:
    found: dict[str, list[AttemptRecord]] = {d: [] for d in delivery_ids}
    query = select(AttemptRow).where(AttemptRow.delivery_id.in_(delivery_ids)).order_by(AttemptRow.id)
    for a in session.scalars(query):
        found[a.delivery_id].append(
            AttemptRecord(
                a.number,
                a.provider,
                a.started_at,
                a.finished_at,
                a.outcome,
                a.status_code,
                a.provider_message_id,
                a.raw_status,
                a.error,
                a.settled_by,
                a.settled_at,
                a.settled_actor,
                bool(a.possible_duplicate),
            )
        )
    return {k: tuple(v) for k, v in found.items()}
