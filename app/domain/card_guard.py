"""The card-number guard of webhooks: a verified request and what it was read into, before anything is stored.

Platform webhooks and provider status callbacks are signed by the sender, but what they carry is
still the outside world's text: an event id, an order id, a note. Anything that holds a full card
number is refused whole (`CardDataRejected`, naming the field, never the value), so the number
reaches no table, audit entry or log line. A platform's own numeric ids and carriers' tracking
numbers are not read as cards (`find_card_numbers(..., ids_exempt=True)`); the ids we store (event
id, order id) are checked strictly.
"""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Any

from app.domain.cards import refuse_card_number, refuse_card_numbers
from app.domain.events import PlatformEvent, TriggerEvent
from app.domain.inbound import InboundRequest
from app.domain.tracking import StatusEvent


def request_payload(request: InboundRequest) -> Any:
    """The body as the sender meant it: parsed JSON, form pairs (`{name: [values]}`), or the text itself."""
    text = request.body.decode("utf-8", "replace")
    try:
        return json.loads(text)
    except ValueError:
        pass
    except RecursionError:
        return text
    pairs = request.form()
    if pairs and "=" in text:
        form: dict[str, list[str]] = {}
        for name, value in pairs:
            form.setdefault(name, []).append(value)
        return form
    return text


def refuse_cards_in_request(request: InboundRequest) -> None:
    """`CardDataRejected` naming the first field of the body (`body.<path>`) that holds a card number.

    Headers are the sender's own (a signature, a topic, an event id); the ids read from them are
    checked on the events, as they are stored.
    """
    refuse_card_numbers(request_payload(request), where="body", ids_exempt=True)


def refuse_cards_in_event(event: PlatformEvent) -> None:
    """`CardDataRejected` for a platform event whose ids or update hold a card number.

    The event id and the order id are stored as they are, so they are checked strictly; the sale
    was checked by `parse_sale`, an order update's lines, tracking and reason here.
    """
    refuse_card_number(event.event_id, "event_id")
    refuse_card_number(event.order_id, "order_id")
    if isinstance(event, TriggerEvent):
        return
    refuse_card_number(event.update_key, "update_key")
    refuse_card_number(event.sale_id, "sale_id")
    refuse_card_numbers(event.detail(), where="update", ids_exempt=True)


def refuse_cards_in_status(event: StatusEvent) -> None:
    """`CardDataRejected` for a provider's status event holding a card number (its raw text is stored too)."""
    fields = asdict(event)
    raw = fields.pop("raw")
    for name in ("event_id", "provider_message_id", "delivery_key", "raw_status", "detail"):
        refuse_card_number(fields[name], name)
    try:
        parsed = json.loads(raw)
    except (ValueError, RecursionError):
        parsed = raw
    refuse_card_numbers(parsed, where="raw", ids_exempt=True)
