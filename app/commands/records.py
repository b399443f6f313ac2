"""`receipts`, `queue`, `audit`, `health` and `doctor`: reading and repairing what was recorded."""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from app.commands.common import os_actor, parse_time, with_database, with_runtime
from app.config.paths import default_config_file
from app.config.settings import routing_of
from app.domain.attempt_words import attempt_fate
from app.domain.audit import AuditEntry, short_detail
from app.domain.cards import contains_card_number
from app.domain.channels import Channel
from app.domain.clock import utcnow
from app.domain.contacts import mask_contact
from app.domain.delivery import DeliveryState
from app.domain.errors import ValidationFailed
from app.domain.receipt_design import receipt_design
from app.domain.records import AttemptRecord, ReceiptDetail, ReceiptSummary

if TYPE_CHECKING:
    from app.main.database_only import DatabaseRuntime
    from app.main.runtime import Runtime
    from app.services.health import Health

# -- receipts, queue, audit --------------------------------------------------------------------


def receipts_list(args: argparse.Namespace) -> int:
    if getattr(args, "hub", False):  # the whole store's, from this lane's hub
        from app.commands.hub_list import receipts_list_hub

        return receipts_list_hub(args)
    state = DeliveryState(args.state) if args.state else None
    since, until = parse_time(args.since, "since"), parse_time(args.until, "until")
    rows = with_database(
        args, lambda r: r.receipts.list(since=since, until=until, query=args.query, state=state, limit=args.limit)
    )
    if args.json:
        print(json.dumps([_receipt_json(r) for r in rows], indent=2))
        return 0
    if not rows:
        print("No receipts match.")
        return 0
    print(f"{'created':<19}  {'receipt':<36}  {'sale':<12} {'lane':>4} {'total':>10}  deliveries")
    for r in rows:
        deliveries = (
            ", ".join(
                f"{c.value} {mask_contact(to)} {s.value}"
                for c, to, s in zip(r.channels, r.recipients, r.states, strict=True)
            )
            or "none"
        )
        print(
            f"{r.created_at.astimezone():%Y-%m-%d %H:%M:%S}  {r.receipt_id:<36}  {r.sale_id:<12} {r.lane:>4} "
            f"{'$' + format(r.total, ',.2f'):>10}  {deliveries}"
        )
    return 0


def receipts_show(args: argparse.Namespace) -> int:
    async def body(r: DatabaseRuntime) -> tuple[ReceiptDetail, str]:
        detail = await r.receipts.get(args.receipt_id)
        email = routing_of(r.settings).chains.get(Channel.EMAIL, ())
        primary = email[0] if email else None
        return detail, receipt_design(detail, primary=primary, providers=r.settings.providers, name=provider_names())

    detail, design = with_database(args, body)
    if args.form != "summary":
        print({"text": detail.text, "sms": detail.sms_body, "html": detail.html}[args.form])
        return 0
    names = provider_names()
    s = detail.summary
    print(f"Receipt {s.receipt_id}  sale {s.sale_id}  store {s.store_id}  lane {s.lane}  total ${s.total:,.2f}")
    print(
        f"Created {s.created_at.astimezone():%Y-%m-%d %H:%M:%S}  language {detail.language}  "
        f"SMS {detail.sms_segments} segment(s)  hash {detail.content_hash[:16]}"
    )
    print(f"E-mail: {design}")
    for d in detail.deliveries:
        print(
            f"  {d.channel.value:<5} {mask_contact(d.recipient):<22} via {d.provider:<9} {d.state.value}"
            + (f"  ({d.reason})" if d.reason else "")
        )
        for a in detail.attempts.get(d.id, ()):
            print(f"      {attempt_text(a, names)}")
        for e in detail.events.get(d.id, ()):
            print(
                f"      {e.occurred_at.astimezone():%H:%M:%S} {e.kind} ({e.provider} {e.raw_status})"
                + (f" {e.detail}" if e.detail else "")
            )
    return 0


def provider_names() -> Callable[[str], str]:
    """A provider id as people know it (`twilio` → `Twilio`); an id no adapter has, as it is."""
    from app.services.catalogue import ProviderCatalogue

    known = {p.id: p.display_name for p in ProviderCatalogue().providers()}
    return lambda provider: known.get(provider, provider)


def attempt_text(a: AttemptRecord, name: Callable[[str], str]) -> str:
    """`#2 21:04:09 via Twilio: in doubt → found at Twilio, not sent again` (local time of its start)."""
    line = f"#{a.number} {a.started_at.astimezone():%H:%M:%S} via {name(a.provider)}: {attempt_fate(a, name)}"
    if a.finished_at is not None:
        line += f", answered {a.finished_at.astimezone():%H:%M:%S}"
    if a.settled_at is not None:
        line += f", settled {a.settled_at.astimezone():%Y-%m-%d %H:%M:%S}"
    return line + (f" ({a.error})" if a.error else "")


def receipts_resend(args: argparse.Namespace) -> int:
    if contains_card_number(args.reason):  # the audit log keeps the reason for good: never a card number
        raise ValidationFailed("--reason looks like it holds a card number; say why without it.", field="reason")
    channel = Channel(args.channel)
    if channel is Channel.PRINT and args.to:
        raise ValidationFailed(
            "--to is not used with --channel print: a reprint goes to the lane's printer.", field="to"
        )
    if channel is not Channel.PRINT and not args.to:
        raise ValidationFailed(f"--to is needed with --channel {channel.value}: the address or number to send to.")
    actor = os_actor()

    async def body(r: Runtime) -> str:
        from app.services.receipts import AGREED_AT_DESK_TEXT, ConsentSource, ResendConsent

        agreed = ResendConsent(AGREED_AT_DESK_TEXT, ConsentSource.MANAGER_DESK) if args.customer_agreed else None
        try:
            delivery = await r.receipts.resend(
                args.receipt_id, channel, args.to or "", reason=args.reason, actor=actor, consent=agreed
            )
        except ValidationFailed as refused:
            if refused.field != "consent":
                raise
            raise ValidationFailed(
                "This number has not agreed to texts: ask the customer, then add --customer-agreed.", field="consent"
            ) from None
        return delivery

    delivery_id = with_runtime(args, body)
    does = "prints" if channel is Channel.PRINT else "sends"
    print(f"Queued delivery {delivery_id}; a running `receiptdesk serve` or kiosk {does} it.")
    return 0


def _receipt_json(r: ReceiptSummary) -> dict[str, object]:
    """One receipt of `receipts list --json`: every key always there, times ISO 8601 in UTC, money a string."""
    return {
        "receipt_id": r.receipt_id,
        "sale_id": r.sale_id,
        "store_id": r.store_id,
        "lane": r.lane,
        "occurred_at": _iso(r.occurred_at),
        "created_at": _iso(r.created_at),
        "total": f"{r.total:.2f}",
        "deliveries": [
            {"channel": c.value, "recipient": mask_contact(to), "state": s.value}
            for c, to, s in zip(r.channels, r.recipients, r.states, strict=True)
        ],
    }


def _iso(when: datetime | None) -> str | None:
    return when.astimezone(UTC).isoformat() if when is not None else None


def queue_status(args: argparse.Namespace) -> int:
    status = with_database(args, lambda r: r.receipts.queue_status())
    total = sum(status.by_state.values())
    if args.json:
        queue = {
            "total": total,
            "by_state": dict(sorted(status.by_state.items())),
            "due_now": status.due_now,
            "oldest_pending_at": _iso(status.oldest_pending_at),
            "oldest_due_at": _iso(status.oldest_due_at),
        }
        print(json.dumps(queue, indent=2))
        return 0
    print(f"{total} deliveries: " + (", ".join(f"{k} {v}" for k, v in sorted(status.by_state.items())) or "none"))
    print(f"Due now: {status.due_now}")
    if status.oldest_pending_at:
        print(f"Oldest pending since {status.oldest_pending_at.astimezone():%Y-%m-%d %H:%M:%S}")
    return 0


def queue_retry(args: argparse.Namespace) -> int:
    actor = os_actor()
    moved = with_database(args, lambda r: r.receipts.retry(args.delivery_ids or None, actor=actor))
    if args.delivery_ids and not moved:
        print("receiptdesk: None of those deliveries is failed or dead: nothing was queued again.", file=sys.stderr)
        return 1
    print(f"{moved} deliveries queued again.")
    return 0


def queue_held(args: argparse.Namespace) -> int:
    """Deliveries held for a manager, longest waiting first: id, since when, channel, masked recipient, provider."""
    held = with_database(args, lambda r: r.receipts.held())
    if args.json:
        listing = [
            {
                "delivery_id": h.id,
                "receipt_id": h.receipt_id,
                "channel": h.channel.value,
                "provider": h.provider,
                "recipient": h.recipient,
                "since": _iso(h.since),
            }
            for h in held
        ]
        print(json.dumps(listing, indent=2))
        return 0
    if not held:
        print("No delivery is held.")
        return 0
    name = provider_names()
    print(f"{'held since':<19}  {'delivery':<36}  {'channel':<8} {'to':<22} via")
    for h in held:
        print(
            f"{h.since.astimezone():%Y-%m-%d %H:%M:%S}  {h.id:<36}  {h.channel.value:<8} {h.recipient:<22} "
            f"{name(h.provider)}"
        )
    print(
        "The customer may already have each of these: `receiptdesk queue send-held ID` sends one again, "
        "`receiptdesk queue drop-held ID --reason WHY` does not."
    )
    return 0


def queue_send_held(args: argparse.Namespace) -> int:
    actor = os_actor()
    with_database(args, lambda r: r.receipts.send_held(args.delivery_id, actor=actor))
    print(f"Delivery {args.delivery_id} is queued again; a running `receiptdesk serve` or kiosk sends it.")
    return 0


def queue_drop_held(args: argparse.Namespace) -> int:
    if contains_card_number(args.reason):  # the audit log keeps the reason for good: never a card number
        raise ValidationFailed("--reason looks like it holds a card number; say why without it.", field="reason")
    actor = os_actor()
    with_database(args, lambda r: r.receipts.drop_held(args.delivery_id, actor=actor, reason=args.reason))
    print(f"Delivery {args.delivery_id} is dropped: it will not be sent again.")
    return 0


_DURATION = re.compile(r"^(\d+)\s*([smhdw])$", re.IGNORECASE)
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_since(value: str | None) -> datetime | None:
    """`--since` as a date or time (ISO 8601) or a duration back from now (`30m`, `2h`, `7d`, `1w`)."""
    if value is None:
        return None
    match = _DURATION.match(value.strip())
    if match:
        return utcnow() - timedelta(seconds=int(match.group(1)) * _UNITS[match.group(2).lower()])
    try:
        return parse_time(value, "since")
    except ValidationFailed:
        raise ValidationFailed(
            f"--since: {value!r} is neither a date or time (ISO 8601) nor a duration like 2h or 7d."
        ) from None


def audit_show(args: argparse.Namespace) -> int:
    """The newest entries first: seq, local time, actor, action, subject and a short detail (or JSON)."""
    since = parse_since(args.since)
    if args.limit < 1:
        raise ValidationFailed("--limit: show at least 1 entry.")
    from app.services.audit_log import AuditLog

    found = with_database(
        args, lambda r: AuditLog(r.db).entries(since=since, action=args.audit_action, limit=args.limit)
    )
    if args.json:
        print(json.dumps([_audit_json(e) for e in found], indent=2, ensure_ascii=False))
        return 0
    if not found:
        print("No audit entries match.")
        return 0
    print(f"{'seq':>7}  {'time':<19}  {'actor':<18} {'action':<22} {'subject':<36}  detail")
    for e in found:
        print(
            f"{e.seq:>7}  {e.at.astimezone():%Y-%m-%d %H:%M:%S}  {_cut(e.actor, 18):<18} {_cut(e.action, 22):<22} "
            f"{_cut(e.subject, 36):<36}  {short_detail(e.detail, 70)}"
        )
    return 0


def _audit_json(e: AuditEntry) -> dict[str, object]:
    return {
        "seq": e.seq,
        "at": _iso(e.at),
        "actor": e.actor,
        "action": e.action,
        "subject": e.subject,
        "detail": e.detail,
    }


def _cut(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "\u2026"


def audit_verify(args: argparse.Namespace) -> int:
    report = with_database(args, lambda r: r.receipts.verify_audit())
    if report.ok:
        print(f"Audit log intact: {report.entries} entries, chain verified.")
        return 0
    print(
        f"receiptdesk: audit log BROKEN at entry {report.first_bad_seq}: {report.problem} "
        f"({report.entries} entries verified before it)",
        file=sys.stderr,
    )
    return 3


# -- health, doctor -----------------------------------------------------------------------------


def health(args: argparse.Namespace) -> int:
    """The health as the database and the settings show it (exit 1 when not ok); `--json`: `/v1/health`'s body."""
    from app.server.hub import lane_lines, with_lanes
    from app.server.schemas import HealthOut
    from app.services.hub import HubService

    async def both(r: Runtime) -> tuple[Health, HealthOut]:
        recorded = await r.health.recorded()
        return recorded, await with_lanes(HealthOut.of(recorded), HubService(r.db))  # a hub's lanes, if any

    health, body = with_runtime(args, both)
    if args.json:
        print(json.dumps(body.model_dump(mode="json"), indent=2))
    else:
        print("\n".join(_health_lines(health) + lane_lines(body)))
    return 0 if health.ok else 1


def _health_lines(h: Health) -> list[str]:
    from app.services.health import STALLED_AFTER_S

    waited = h.oldest_due_age_s or 0.0
    if h.ok:
        lines = ["Ok: nothing has waited past its due time for long, and no alarm is up."]
    elif waited > STALLED_AFTER_S:
        lines = [
            f"Not ok: a delivery has been due for {waited / 60:.0f} min and nothing sends it: "
            "is `receiptdesk serve` (or the kiosk) running on this database?"
        ]
    else:
        lines = ["Not ok: an alarm is up."]
    lines += [f"Alarm: {alarm}" for alarm in h.alarms]
    lines += [f"Warning: {warning}" for warning in h.warnings]
    states = ", ".join(f"{k} {v}" for k, v in sorted(h.by_state.items())) or "none"
    lines.append(f"Queue: {h.queue_depth} to send, {h.due_now} due now; all deliveries: {states}.")
    if h.oldest_pending_age_s is not None:
        lines.append(f"Oldest pending: {h.oldest_pending_age_s / 60:.0f} min old.")
    if h.new_number_texts is not None:
        texts = h.new_number_texts
        lines.append(f"Texts to new numbers: {texts.count} in the last hour (alarm above {texts.alarm_at}).")
    name = provider_names()
    lines.append(f"Held for a manager: {len(h.held)}.")
    duplicates = ", ".join(f"{name(p)} {n}" for p, n in h.possible_duplicates_today.items())
    lines.append(f"Possible duplicates today: {duplicates or 'none'}.")
    providers = ", ".join(p.provider for p in h.providers) or "none"
    lines.append(f"Providers: {providers} (how they fare live: GET /v1/health of the running ReceiptDesk).")
    for s in h.platform_sync:
        when = f", last synced {s.last_success_at.astimezone():%Y-%m-%d %H:%M:%S}" if s.last_success_at else ""
        why = s.last_error or s.detail
        lines.append(f"Platform {s.platform}: {s.state}{when}" + (f" ({why})" if why else "") + ".")
    if h.hub_sync is not None:
        hub = h.hub_sync
        pushed = f"last push {hub.last_push_at.astimezone():%Y-%m-%d %H:%M:%S}" if hub.last_push_at else "no push yet"
        skew = f", clock {hub.skew_ms:+,} ms from the hub's" if hub.skew_ms is not None else ""
        lines.append(f"Hub {h.hub_url}: {hub.backlog:,} records wait, {hub.parked:,} parked, {pushed}{skew}.")
        if h.hub_settings_version is not None:
            lines.append(f"Store settings: version {h.hub_settings_version} from the hub.")
    return lines


def doctor(args: argparse.Namespace) -> int:
    """Every check of the installation, one line each (or a JSON list); exit 1 when one failed."""
    from app.main.doctor import run_doctor

    config = args.config or default_config_file()
    report = asyncio.run(run_doctor(config, must_exist=args.config is not None, data=args.data_dir))
    print(json.dumps(report.as_json(), indent=2) if args.json else "\n".join(report.lines()))
    return 0 if report.ok else 1
