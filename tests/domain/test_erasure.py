"""What erasure looks for in text: every spelling of a phone, an address in any case, a name word by word."""

from __future__ import annotations

import json

from app.domain.erasure import LOYALTY_REMOVED, REMOVED, Needles, phone_forms, scrub_json, scrub_sale

NEEDLES = Needles.of(names=["José Ruiz", "LM123"], emails=["Jose.Ruiz@Example.com"], phones=["+12175550186"])


def test_a_phone_is_found_however_it_was_written() -> None:
    assert {"+12175550186", "12175550186", "2175550186", "(217) 555-0186", "217-555-0186", "+1 217-555-0186"} <= (
        phone_forms("+12175550186")
    )
    for text in ("call 217.555.0186", "tel:+1-217-555-0186", "(217) 555-0186", "2175550186"):
        assert "0186" not in NEEDLES.scrub(text), text


def test_names_and_addresses_in_any_case_and_as_html_or_json_escapes_them() -> None:
    assert NEEDLES.scrub("Thanks, JOSÉ! Sent to jose.ruiz@example.com") == f"Thanks, {REMOVED}! Sent to {REMOVED}"
    oneil = Needles.of(names=["Ann O'Neil"]).scrub("<p>Thanks, Ann O&#x27;Neil</p>")  # as HTML escapes it
    assert oneil == f"<p>Thanks, {REMOVED}</p>"
    escaped = json.dumps({"greeting": "Hola José"})  # \u00e9, as json.dumps writes it
    assert "Jos" not in scrub_json(escaped, NEEDLES)
    assert scrub_json('{"a": "nothing here"}', NEEDLES) == '{"a": "nothing here"}'  # untouched, as written
    assert NEEDLES.scrub("Rice, Ruizenaar brand") == "Rice, Ruizenaar brand"  # whole words only


def test_a_sale_keeps_its_money_and_loses_its_customer() -> None:
    sale = {
        "sale_id": "S-1",
        "total": "12.50",
        "customer": {"name": "José Ruiz", "email": "jose.ruiz@example.com", "phone": "(217) 555-0186",
                     "loyalty_id": "LM123", "language": "es", "channels": ["sms"]},
        "loyalty": {"member_id": "LM123", "points_earned": 12},
    }  # fmt: skip
    scrubbed = json.loads(scrub_sale(json.dumps(sale), NEEDLES))
    assert scrubbed["total"] == "12.50" and scrubbed["sale_id"] == "S-1"
    assert scrubbed["customer"] == {"language": "es", "channels": ["sms"]}
    assert scrubbed["loyalty"] == {"member_id": LOYALTY_REMOVED, "points_earned": 12}
