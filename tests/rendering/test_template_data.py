"""The receipt as data for a store's provider template, against `docs/receipt-data.schema.json`."""

from __future__ import annotations

import json
import random
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from app.demo.wiring import DEMO_PROFILE
from app.domain.channels import Language
from app.domain.intake import parse_sale
from app.rendering.receipts import ReceiptRenderer
from app.rendering.template_data import build_template_data
from app.sandbox.pos import make_sale

from . import TEST_CARD_NUMBER, sample_payload

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "docs" / "receipt-data.schema.json"


@pytest.fixture(scope="module")
def validator() -> jsonschema.Draft202012Validator:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)


@pytest.fixture(scope="module")
def renderer() -> ReceiptRenderer:
    return ReceiptRenderer()


def rendered_data(renderer: ReceiptRenderer, payload: dict[str, Any], language: Language = Language.EN) -> Any:
    receipt = renderer.render(parse_sale(payload), DEMO_PROFILE, language)
    assert receipt.template_data is not None
    return json.loads(receipt.template_data)


def errors(validator: jsonschema.Draft202012Validator, data: Any) -> list[str]:
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(data)]


def test_the_sample_sale_in_both_languages_fits_the_schema(
    renderer: ReceiptRenderer, validator: jsonschema.Draft202012Validator
) -> None:
    for language in Language:
        data = rendered_data(renderer, sample_payload(), language)
        assert errors(validator, data) == []
        assert data["language"] == language.value


def test_many_real_sales_fit_the_schema(renderer: ReceiptRenderer, validator: jsonschema.Draft202012Validator) -> None:
    """Random POS sales: weights, savings, deposits, loyalty and split tenders all come up among them."""
    seen: set[str] = set()
    for seed in range(40):
        payload = make_sale(random.Random(seed), sale_id=f"S-{seed}", with_customer=bool(seed % 2))
        data = rendered_data(renderer, payload, Language.ES if seed % 3 == 0 else Language.EN)
        assert errors(validator, data) == [], seed
        seen |= {"weights"} if any(line["weighed"] for line in data["lines"]) else set()
        seen |= {"savings"} if Decimal(data["totals"]["savings"]["amount"]) else set()
        seen |= {"deposits"} if Decimal(data["totals"]["deposits"]["amount"]) else set()
        seen |= {"loyalty"} if data["loyalty"] else set()
        seen |= {"split tenders"} if len(data["tenders"]) > 1 else set()
    assert seen == {"weights", "savings", "deposits", "loyalty", "split tenders"}


def test_the_schema_refuses_a_float_and_a_missing_field(
    renderer: ReceiptRenderer, validator: jsonschema.Draft202012Validator
) -> None:
    data = rendered_data(renderer, sample_payload())
    data["totals"]["total"]["amount"] = 25.7
    del data["barcode"]
    found = errors(validator, data)
    assert any(e.startswith("totals/total/amount") for e in found)
    assert any("barcode" in e for e in found)


def test_the_data_says_what_the_receipt_says(renderer: ReceiptRenderer) -> None:
    data = rendered_data(renderer, sample_payload())
    bananas, eggs, cola, _ = data["lines"]
    assert bananas | {"savings": None} == bananas | {
        "name": "Bananas",
        "quantity": "2.35",
        "unit": "lb",
        "weighed": True,
        "detail": "2.35 lb @ $0.59/lb",
        "unit_price": {"amount": "0.59", "display": "$0.59"},
        "line_total": {"amount": "1.39", "display": "$1.39"},
        "savings": None,
    }
    assert eggs["savings"] == [{"description": "Club price", "amount": {"amount": "1.00", "display": "-$1.00"}}]
    assert cola["bottle_deposit"] == {"amount": "0.60", "display": "$0.60"}
    assert [d["code"] for d in data["discounts"]] == ["SAVE2", "MFR-0199"]
    assert data["totals"]["total"] == {"amount": "25.70", "display": "$25.70"}
    assert data["totals"]["savings_sentence"] == "You saved $3.50"
    assert data["taxes"] == [
        {
            "name": "IL sales tax",
            "label": "IL sales tax 6.25%",
            "rate": "0.0625",
            "amount": {"amount": "1.25", "display": "$1.25"},
        }
    ]
    assert data["loyalty"]["balance"] == 1234 and data["loyalty"]["balance_pending"] is True
    assert data["promotions"][0]["expires_on"] == "2025-12-05"
    assert data["barcode"] == {"value": "RD-S-1001", "symbology": "code128", "label": "Return code RD-S-1001"}
    assert data["has_taxed"] is True and data["taxed_legend"] == "T = taxable"
    assert cola["marks"] == "TS" and cola["deposit_label"] == "Bottle deposit"
    assert data["sale"]["cashier"] == "Dana"
    assert datetime.fromisoformat(data["sale"]["occurred_at"]).utcoffset() is not None
    assert data["sale"]["occurred_at"] == "2025-11-28T23:57:00-06:00"


def test_cards_show_brand_and_last_four_only(renderer: ReceiptRenderer) -> None:
    payload = sample_payload()
    receipt = renderer.render(parse_sale(payload), DEMO_PROFILE, Language.EN)
    assert receipt.template_data is not None
    card, cash = json.loads(receipt.template_data)["tenders"]
    assert card == {
        "type": "card",
        "label": "Visa •••• 1111",
        "card_brand": "Visa",
        "last4": "1111",
        "entry_mode": "chip",
        "auth_code": "A1B2C3",
        "detail": "Chip · Auth A1B2C3",
        "amount": {"amount": "20.00", "display": "$20.00"},
        "change_due": {"amount": "0.00", "display": "$0.00"},
    }
    assert cash["card_brand"] is None and cash["change_due"]["amount"] == "4.30"
    assert cash["entry_mode"] is None and cash["auth_code"] is None and cash["detail"] == ""
    for hidden in (TEST_CARD_NUMBER, "LM12345678"):
        assert hidden not in receipt.template_data


def test_the_same_sale_gives_the_same_bytes_and_spanish_words(renderer: ReceiptRenderer) -> None:
    sale = parse_sale(sample_payload())
    first = renderer.render(sale, DEMO_PROFILE, Language.ES).template_data
    assert first == renderer.render(sale, DEMO_PROFILE, Language.ES).template_data
    data = json.loads(first or "")
    assert data["subject"].startswith("Su recibo")
    assert data["tenders"][1]["label"] == "Efectivo"
    assert data == build_template_data(sale, DEMO_PROFILE, Language.ES)
