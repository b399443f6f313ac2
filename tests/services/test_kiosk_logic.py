"""The kiosk's Qt-free parts: service use cases, export, typo help, search, flow, catalogue, TOML."""

from __future__ import annotations

import random
import string
import tomllib
from collections.abc import AsyncIterator
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from app.config.settings import Settings
from app.config.settings_writer import dumps_toml, settings_data
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.domain.channels import Channel, Language
from app.domain.clock import utcnow
from app.domain.contacts import mask_contact
from app.domain.errors import ValidationFailed
from app.domain.intake import parse_sale
from app.main import Runtime, build_runtime
from app.sandbox.pos import make_sale
from app.services.export import export_receipts_csv
from app.services.kiosk import KioskService, ReceiptChoice, SendRequest
from app.storage import audit
from app.storage.models import AuditRow, ConsentRow
from app.triggers.pos import pos_event
from app.ui.cashier.search import parse_search
from app.ui.customer.entry import format_us_phone
from app.ui.customer.flow import CustomerSession, Step
from app.ui.customer.typos import suggest_email
from app.ui.i18n import EN, ES
from tests.conftest import new_database


@pytest.fixture
async def runtime(tmp_path: Path) -> AsyncIterator[Runtime]:
    new_database(tmp_path)
    built = build_runtime(
        sandbox_settings(Settings(), "http://127.0.0.1:9"), data=tmp_path, secrets=sandbox_secrets("http://127.0.0.1:9")
    )
    yield built
    await built.close()


async def ring_up(runtime: Runtime, **changes: object) -> str:
    payload = make_sale(random.Random(len(changes)), sale_id=f"L{random.randrange(10**8)}")
    payload.update(changes)
    if payload.get("customer") is None:
        payload.pop("customer", None)
    result = await runtime.checkout.accept(pos_event(parse_sale(payload), idempotency_key=None, received_at=utcnow()))
    return result.receipt_id


async def test_send_refuses_a_text_without_consent_and_records_the_consent_given(runtime: Runtime) -> None:
    kiosk = KioskService(runtime.db, runtime.settings.routing, runtime.bus)
    receipt_id = await ring_up(runtime, customer=None)
    with pytest.raises(ValidationFailed, match="agree"):
        await kiosk.send(receipt_id, SendRequest(ReceiptChoice.SMS, phone="217-555-0101"))
    outcome = await kiosk.send(
        receipt_id,
        SendRequest(
            ReceiptChoice.BOTH,
            email="x@example.com",
            phone="217-555-0101",
            consent_text="I agree.",
            remember=True,
            language=Language.ES,
            source="test",
        ),
    )
    assert [d.channel for d in outcome.deliveries] == [Channel.EMAIL, Channel.SMS]
    assert [d.masked_recipient for d in outcome.deliveries] == ["x***@example.com", "(***) ***-0101"]
    consents = await runtime.db.read(lambda s: list(s.scalars(select(ConsentRow))))
    assert [(c.channel, c.text_shown, c.source, c.language) for c in consents if c.channel == "sms"] == [
        ("sms", "I agree.", "test", "es")
    ]
    assert [c.contact for c in consents if c.channel == "email"] == ["x@example.com"]
    sale = await kiosk.sale(receipt_id)
    assert sale.customer is not None and sale.customer.auto_send and sale.customer.language is Language.ES
    assert set(sale.customer.preferred) == {Channel.EMAIL, Channel.SMS}
    found = await kiosk.find_customer("(217) 555-0101")
    assert found is not None and found.id == sale.customer.id


async def test_print_and_no_receipt_queue_nothing_but_are_audited(runtime: Runtime) -> None:
    kiosk = KioskService(runtime.db, runtime.settings.routing, runtime.bus)
    receipt_id = await ring_up(runtime, customer=None)
    for choice in (ReceiptChoice.PRINT, ReceiptChoice.NONE):
        assert (await kiosk.send(receipt_id, SendRequest(choice))).deliveries == ()
    actions = await runtime.db.read(lambda s: list(s.scalars(select(AuditRow.action).order_by(AuditRow.seq))))
    assert actions[-2:] == ["receipt.kiosk_print", "receipt.kiosk_none"]
    with pytest.raises(ValidationFailed, match="none is on file"):
        await kiosk.send(receipt_id, SendRequest(ReceiptChoice.EMAIL))


async def test_print_goes_to_the_lanes_printer_when_one_is_set_up(runtime: Runtime) -> None:
    assert runtime.routing.primary(Channel.PRINT) == "printer"  # the demo's dummy printer
    kiosk = KioskService(runtime.db, runtime.routing.primaries(), runtime.bus)
    receipt_id = await ring_up(runtime, customer=None)
    [queued] = (await kiosk.send(receipt_id, SendRequest(ReceiptChoice.PRINT))).deliveries
    assert (queued.channel, queued.masked_recipient) == (Channel.PRINT, "printer")  # a device, not a contact
    assert mask_contact("printer") == "printer" and mask_contact("+12175550101") != "+12175550101"


async def test_export_refuses_an_empty_range(runtime: Runtime, tmp_path: Path) -> None:
    now = utcnow()
    with pytest.raises(ValidationFailed):
        await export_receipts_csv(runtime.db, tmp_path / "x.csv", since=now, until=now - timedelta(days=1), actor="t")


async def test_an_export_is_audited_with_who_and_what(runtime: Runtime, tmp_path: Path) -> None:
    kiosk = KioskService(runtime.db, runtime.settings.routing, runtime.bus)
    await ring_up(runtime, customer=None)
    now = utcnow()
    done = await kiosk.export_csv(
        tmp_path / "day.csv", since=now - timedelta(hours=1), until=now + timedelta(hours=1), actor="Ana Lee"
    )
    assert done.receipts == 1
    [entry] = await runtime.db.read(lambda s: audit.recent(s, action="records.exported"))
    assert (entry.actor, entry.subject) == ("Ana Lee", "receipts")
    assert (entry.detail["file"], entry.detail["receipts"], entry.detail["rows"]) == ("day.csv", 1, 1)


@pytest.mark.parametrize(
    ("typed", "meant"),
    [
        ("ana@gmial.com", "ana@gmail.com"),
        ("ana@GMAIL.CON", "ana@gmail.com"),
        ("bo@yahoo.co", "bo@yahoo.com"),
        ("cy@hotmial.com", "cy@hotmail.com"),
        ("di@shop.con", "di@shop.com"),
        ("ed@gmail.com", None),
        ("nope", None),
    ],
)
def test_typo_help(typed: str, meant: str | None) -> None:
    assert suggest_email(typed) == meant


def test_search_reads_a_time_of_day() -> None:
    day = date(2025, 11, 28)
    at = parse_search("2:05 pm", day)
    assert at.query is None and at.until - at.since == timedelta(minutes=10)
    assert (at.since + timedelta(minutes=5)).astimezone().strftime("%H:%M") == "14:05"
    text = parse_search(" 4111 ", day)
    assert text.query == "4111" and text.since == datetime(2025, 11, 28).astimezone()


def test_us_phone_is_formatted_while_typed() -> None:
    assert [format_us_phone(d) for d in ("217", "2175", "2175550", "2175550123", "12175550123")] == [
        "217",
        "(217) 5",
        "(217) 555-0",
        "(217) 555-0123",
        "(217) 555-0123",
    ]


def test_customer_flow_asks_only_what_it_needs(tmp_path: Path) -> None:
    from app.services.kiosk import CustomerView, KioskSale, ReceiptPreview

    customer = CustomerView(1, "Ana", None, None, "a***@x.com", None, (), False)
    sale = KioskSale(
        "r",
        "s",
        "1",
        0,
        utcnow(),
        utcnow(),
        None,
        customer,  # type: ignore[arg-type]
        ReceiptPreview("en", "", "", "", "", 1, "GSM-7"),
        (),
    )
    session = CustomerSession(sale, Language.EN)
    assert session.next_step() is Step.CHOOSE
    assert session.choose(ReceiptChoice.EMAIL) is Step.CONFIRM  # address on file: no typing
    assert session.choose(ReceiptChoice.BOTH) is Step.PHONE  # no phone on file
    assert session.disown() is Step.EMAIL
    assert session.choose(ReceiptChoice.NONE) is Step.DONE


def test_catalogue_is_complete_in_both_languages() -> None:
    assert EN.keys() == ES.keys()
    fields = {k: {f for _, f, _, _ in string.Formatter().parse(v) if f} for k, v in EN.items()}
    for key, text in ES.items():
        assert {f for _, f, _, _ in string.Formatter().parse(text) if f} == fields[key], key


def test_settings_survive_a_round_trip_through_toml() -> None:
    settings = Settings.model_validate(
        {
            "store": {"name": 'Joe\'s "Fresh" Market', "footer": "Line 1\nLínea 2"},
            "providers": {"twilio": {"account_sid": "AC1", "rate_per_sec": 5}},
        }
    )
    text = dumps_toml(settings_data(settings))
    assert Settings.model_validate(tomllib.loads(text)) == settings
