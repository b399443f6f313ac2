"""The till's WhatsApp choice: refused without its consent or without a provider, before any database work."""

from __future__ import annotations

import pytest

from app.domain.channels import Channel
from app.domain.errors import ConfigurationError, ValidationFailed
from app.services.kiosk import ReceiptChoice, SendRequest
from app.services.kiosk.sending import check_request

ROUTED = {Channel.EMAIL: "sendgrid", Channel.WHATSAPP: "twilio_whatsapp"}


def test_whatsapp_needs_the_consent_shown() -> None:
    with pytest.raises(ValidationFailed, match="agree to WhatsApp messages") as refused:
        check_request(SendRequest(ReceiptChoice.WHATSAPP, phone="2175550188", consent_text="  "), ROUTED)
    assert refused.value.field == "consent"


def test_whatsapp_needs_a_provider() -> None:
    request = SendRequest(ReceiptChoice.WHATSAPP, phone="2175550188", consent_text="I agree")
    with pytest.raises(ConfigurationError, match="No provider is set up for whatsapp receipts"):
        check_request(request, {Channel.EMAIL: "sendgrid"})
    checked = check_request(request, ROUTED)
    assert checked.targets == (Channel.WHATSAPP,) and checked.phone == "+12175550188"


def test_a_remembered_whatsapp_choice_is_not_one_the_cashier_panel_preselects() -> None:
    # The cashier's panel offers email, text and both; a WhatsApp preference leaves it to its default.
    assert ReceiptChoice.from_channels((Channel.WHATSAPP,)) is None
