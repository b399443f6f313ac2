"""WhatsApp's 24-hour window: decided from the last inbound message at queue time, checked at send time."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from app.domain.channels import Channel
from app.domain.records import ClaimedDelivery
from app.domain.whatsapp import SESSION_UNTIL, WINDOW, session_open, session_until
from app.providers.twilio_whatsapp import content_variables
from app.services.attempts import build_message

WROTE = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def claim(channel: Channel, metadata: dict[str, str]) -> ClaimedDelivery:
    return ClaimedDelivery(
        id="D-1",
        receipt_id="R-1",
        sale_id="S-1",
        channel=channel,
        provider="twilio_whatsapp",
        recipient="+12175550142",
        attempt=1,
        idempotency_key="rd-D-1",
        created_at=WROTE,
        subject="",
        html="",
        text="",
        sms_body="Your receipt",
        metadata=metadata,
    )


def test_the_window_is_open_for_24_hours_after_the_customer_wrote() -> None:
    assert session_until(None, WROTE) is None
    assert session_until(WROTE, WROTE + timedelta(hours=23, minutes=59)) == WROTE + WINDOW
    assert session_until(WROTE, WROTE + WINDOW) is None


def test_a_send_inside_the_window_is_free_form_and_after_it_closes_a_template() -> None:
    queued = claim(Channel.WHATSAPP, {SESSION_UNTIL: (WROTE + WINDOW).isoformat(), "store": "Demo Market"})
    inside = build_message(queued, WROTE + timedelta(hours=1))
    assert inside.provider_extra == {"session_open": True}
    assert SESSION_UNTIL not in inside.metadata and inside.metadata["store"] == "Demo Market"
    # A retry after the window closed goes as the template, whatever was decided at queue time.
    assert build_message(queued, WROTE + WINDOW).provider_extra == {"session_open": False}
    assert build_message(queued).provider_extra == {"session_open": False}  # no clock: the safe form


def test_no_window_known_or_an_unreadable_one_is_a_template() -> None:
    assert build_message(claim(Channel.WHATSAPP, {}), WROTE).provider_extra == {"session_open": False}
    assert not session_open({SESSION_UNTIL: "yesterday"}, WROTE)
    assert not session_open({SESSION_UNTIL: "2026-12-02T09:00:00"}, WROTE)  # no offset: not trusted


def test_an_sms_carries_no_window() -> None:
    assert build_message(claim(Channel.SMS, {}), WROTE).provider_extra == {}


def test_the_template_is_filled_with_the_store_and_the_total_of_the_receipt() -> None:
    data = '{"store": {"name": "Demo Market"}, "totals": {"total": {"amount": "42.17", "display": "$42.17"}}}'
    queued = replace(claim(Channel.WHATSAPP, {}), template_data=data)
    assert content_variables(build_message(queued, WROTE)) == {"1": "Demo Market", "2": "$42.17"}
    unreadable = replace(queued, template_data='{"store": "?"}')
    assert content_variables(build_message(unreadable, WROTE)) == {"1": "S-1"}  # the sale id, as before
