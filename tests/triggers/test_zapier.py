"""Zapier "New Sale" trigger: shared-secret header, our documented schema, straight to parse_sale."""

from __future__ import annotations

import json
import random
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema  # type: ignore[import-untyped]
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.domain.errors import SignatureRejected, ValidationFailed
from app.domain.inbound import InboundRequest
from app.domain.intake import InvalidSale
from app.sandbox.platforms import zapier as sandbox
from app.triggers.base import NotApplicable
from app.triggers.zapier import ZapierTrigger, new_sale_schema
from tests.fuzzing import examples

FIXTURES = Path(__file__).parent.parent / "fixtures" / "platforms"
URL = "https://hub.example.com/webhooks/zapier"
NOW = datetime(2024, 12, 2, 16, 20, tzinfo=UTC)


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


def request(headers: dict[str, str], body: bytes) -> InboundRequest:
    return InboundRequest(URL, {k.lower(): v for k, v in headers.items()}, body, NOW)


def trigger() -> ZapierTrigger:
    return ZapierTrigger(shared_secret=sandbox.SANDBOX_SHARED_SECRET, store_id="store-0042")


async def test_fixture_maps_to_a_consistent_sale() -> None:
    headers, body = sandbox.signed_webhook(fixture("zapier_new_sale.json"))
    trigger().verify(request(headers, body))
    (event,) = await trigger().events(request(headers, body))
    sale = event.sale
    assert (event.source, event.event_id, event.order_id) == ("zapier", "zap-7f3a9c-row-118", "SHEET-118")
    assert (sale.sale_id, sale.store_id, sale.lane) == ("zapier-WEB-118", "store-0042", "web")
    assert (sale.subtotal, sale.total_savings, sale.total) == (Decimal("13.26"), Decimal("1.30"), Decimal("13.50"))
    assert sale.items[1].line_total == Decimal("2.99")  # 1.5 lb x 1.99, half up
    assert sale.inconsistencies() == []


def test_fixture_and_sandbox_bodies_satisfy_the_published_schema() -> None:
    """jsonschema is the second, independent reading of the documented body."""
    schema = new_sale_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(fixture("zapier_new_sale.json"), schema)
    body = sandbox.sample_event(random.Random(7), event_id="e1", sale_id="s1")
    del body["sale"]["store_id"]  # optional inside the zap's sale
    jsonschema.validate(body, schema)


@pytest.mark.parametrize(
    "body",
    [
        {"sale": {}},  # no event_id
        {"event_id": "e1"},  # no sale
        {"event_id": "e1", "sale": {}, "extra": 1},
        {"event_id": "", "sale": {}},
    ],
)
async def test_schema_and_trigger_agree_on_rejections(body: dict[str, Any]) -> None:
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(body, new_sale_schema())
    with pytest.raises(ValidationFailed):
        await trigger().events(request({}, json.dumps(body).encode()))


@pytest.mark.parametrize(
    "headers",
    [{}, {"X-ReceiptDesk-Secret": "wrong"}, {"X-ReceiptDesk-Secret": ""}, {"Authorization": "Basic eDp5"}],
)
def test_missing_or_wrong_secret_is_rejected(headers: dict[str, str]) -> None:
    _, body = sandbox.signed_webhook(fixture("zapier_new_sale.json"))
    with pytest.raises(SignatureRejected):
        trigger().verify(request(headers, body))


def test_a_secret_from_another_store_is_rejected() -> None:
    headers, body = sandbox.signed_webhook(fixture("zapier_new_sale.json"), secret="store-0043-secret")
    with pytest.raises(SignatureRejected):
        trigger().verify(request(headers, body))


async def test_replayed_zap_yields_the_same_event_id() -> None:
    headers, body = sandbox.signed_webhook(fixture("zapier_new_sale.json"))
    first = await trigger().events(request(headers, body))
    again = await trigger().events(request(headers, body))
    assert first[0].event_id == again[0].event_id and first[0].sale == again[0].sale


@pytest.mark.parametrize("body", [b"", b"{]", b"[]", b'"sale"', b'{"event_id": "e", "sale": []}'])
async def test_malformed_body_is_a_validation_failure(body: bytes) -> None:
    with pytest.raises(ValidationFailed):
        await trigger().events(request({}, body))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b["sale"]["tenders"][0].update(last4="4111111111111111"),
        lambda b: b["sale"]["customer"].update(name="4111 1111 1111 1111"),
    ],
)
async def test_a_card_number_is_rejected(mutate: Any) -> None:
    body = fixture("zapier_new_sale.json")
    mutate(body)
    with pytest.raises(InvalidSale):
        await trigger().events(request(*sandbox.signed_webhook(body)))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda b: b.update(store_id="store-0043"),
        lambda b: b["sale"].update(store_id="store-0043"),
        lambda b: b["sale"].update(total="13.51"),
    ],
)
async def test_another_store_or_bad_totals_are_rejected(mutate: Any) -> None:
    body = fixture("zapier_new_sale.json")
    mutate(body)
    with pytest.raises(ValidationFailed):
        await trigger().events(request(*sandbox.signed_webhook(body)))


@settings(derandomize=True, max_examples=40, deadline=None)
@given(seed=st.integers(0, 2**32))
async def test_sandbox_bodies_map_to_consistent_sales(seed: int) -> None:
    body = sandbox.sample_event(random.Random(seed), event_id=f"e{seed}", sale_id=f"s{seed}")
    (event,) = await trigger().events(request(*sandbox.signed_webhook(body)))
    assert event.sale.total == Decimal(body["sale"]["total"])


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=25,
)


@settings(derandomize=True, max_examples=examples(200), deadline=None)
@given(
    body=st.one_of(
        st.binary(max_size=200),
        json_values.map(lambda v: json.dumps(v).encode()),
        st.builds(lambda e, s: json.dumps({"event_id": e, "sale": s}).encode(), json_values, json_values),
    ),
    secret=st.sampled_from([sandbox.SANDBOX_SHARED_SECRET, None]) | st.text(max_size=10),
)
async def test_random_requests_only_raise_the_documented_errors(body: bytes, secret: str | None) -> None:
    request_ = request({} if secret is None else {"X-ReceiptDesk-Secret": secret}, body)
    try:
        trigger().verify(request_)
        await trigger().events(request_)
    except (SignatureRejected, ValidationFailed, NotApplicable):
        pass
