"""Which design the previews say a receipt's e-mail goes out in."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from app.domain.channels import Channel
from app.domain.delivery import DeliveryState
from app.domain.receipt_design import OWN_DESIGN, receipt_design, template_id
from app.domain.records import TEMPLATE_REFUSED, AttemptRecord, DeliveryRecord, ReceiptDetail, ReceiptSummary

AT = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)
PROVIDERS = {"sendgrid": {"template_id": " d-5a1e "}, "postmark": {"template_id": ""}, "mailgun": {"template_id": "x"}}
NAMES = {"sendgrid": "SendGrid", "postmark": "Postmark", "mailgun": "Mailgun", "twilio": "Twilio"}


def delivery(channel: Channel, provider: str, delivery_id: str = "d1") -> DeliveryRecord:
    return DeliveryRecord(
        delivery_id, "r1", channel, provider, "ana@example.com", DeliveryState.SENT, 1, AT, None, None, None, AT, AT
    )


def detail(*deliveries: DeliveryRecord, outcomes: tuple[str, ...] = ()) -> ReceiptDetail:
    summary = ReceiptSummary("r1", "S-1", "store-1", "1", AT, Decimal("1.00"), AT, (), (), ())
    attempts = tuple(
        AttemptRecord(n, deliveries[-1].provider, AT, AT, outcome, None, None, None, None)
        for n, outcome in enumerate(outcomes, 1)
    )
    return ReceiptDetail(
        summary,
        "en",
        "s",
        "<p>h</p>",
        "t",
        "sms",
        1,
        "hash",
        deliveries,
        {deliveries[-1].id: attempts} if deliveries else {},
    )


def words(d: ReceiptDetail, primary: str | None = "sendgrid") -> str:
    return receipt_design(d, primary=primary, providers=PROVIDERS, name=NAMES.__getitem__)


def test_only_the_three_template_providers_with_an_id_set_use_a_template() -> None:
    assert template_id("sendgrid", PROVIDERS) == "d-5a1e"
    assert template_id("postmark", PROVIDERS) is None  # blank
    assert template_id("mailgun", PROVIDERS) is None  # not one of the three
    assert template_id("mandrill", PROVIDERS) is None  # not configured
    assert template_id(None, PROVIDERS) is None


def test_the_latest_email_delivery_decides_else_the_routing() -> None:
    assert words(detail(delivery(Channel.EMAIL, "sendgrid"))).startswith("Sent with SendGrid template d-5a1e; ")
    assert words(detail(delivery(Channel.EMAIL, "postmark"))) == OWN_DESIGN
    assert words(detail(delivery(Channel.SMS, "twilio"))).startswith("Sent with SendGrid template d-5a1e")
    assert words(detail(), primary="postmark") == OWN_DESIGN
    assert words(detail(), primary=None) == OWN_DESIGN


def test_a_refused_template_is_named() -> None:
    refused = detail(delivery(Channel.EMAIL, "sendgrid"), outcomes=(TEMPLATE_REFUSED, "sent"))
    assert words(refused) == f"{OWN_DESIGN} (SendGrid refused template d-5a1e)"
