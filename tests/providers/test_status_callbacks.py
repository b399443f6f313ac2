"""Every provider's status callbacks, through the one shape: declared fields, create(), verify, parse."""

from __future__ import annotations

import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from twilio.request_validator import RequestValidator

from app.domain.errors import ConfigurationError, SignatureRejected
from app.domain.inbound import InboundRequest
from app.domain.tracking import EventKind
from app.providers.callback_registry import CALLBACKS
from app.providers.callbacks import StatusCallbacks
from app.providers.twilio_callbacks import TwilioCallbacks
from app.support.plugins import discover

NOW = datetime(2026, 11, 28, 10, 0, tzinfo=UTC)


def inbound(body: bytes = b"", url: str = "https://lane3.store.example/x", **headers: str) -> InboundRequest:
    return InboundRequest(url=url, headers={k.lower(): v for k, v in headers.items()}, body=body, received_at=NOW)


def test_the_registry_holds_every_shipped_provider_by_id() -> None:
    assert {"mailgun", "mandrill", "postmark", "sendgrid", "twilio"} <= set(CALLBACKS)  # a new one needs no edit here
    assert all(cls.provider_id == key for key, cls in CALLBACKS.items())


@pytest.mark.parametrize("provider_id", sorted(CALLBACKS))
def test_contract(provider_id: str) -> None:
    """Declared as data; missing fields fail by name; an unsigned request is refused; no secret in repr."""
    cls = CALLBACKS[provider_id]
    assert cls.display_name and cls.summary
    assert cls.event_path() == f"/webhooks/{provider_id}/events"
    assert all(path.startswith("/webhooks/") for path in cls.paths)
    fields = (*cls.secret_fields, *cls.setting_fields)
    required = [f.name for f in fields if f.required]
    assert required  # every provider's callbacks need something to be verified with
    with pytest.raises(ConfigurationError, match=required[0]):
        cls.create({}, {})
    secrets = {f.name: f"secret-{f.name}" for f in cls.secret_fields}
    settings = {f.name: f"setting-{f.name}" for f in cls.setting_fields}
    callbacks = cls.create(settings, secrets)
    with pytest.raises(SignatureRejected):
        callbacks.verify(inbound())
    assert not any(value in repr(callbacks) for value in secrets.values())


def test_create_reads_secrets_and_settings_by_declared_name() -> None:
    token = "twilio-auth-token"
    callbacks = TwilioCallbacks.create({"unrelated": "kept out"}, {"auth_token": token})
    url = "https://lane3.store.example/webhooks/twilio/status"
    form = {"MessageSid": "SM1", "MessageStatus": "delivered"}
    signature = RequestValidator(token).compute_signature(url, form)  # the official SDK signs
    request = inbound(b"MessageSid=SM1&MessageStatus=delivered", url, **{"X-Twilio-Signature": signature})
    callbacks.verify(request)
    [event] = callbacks.parse(request)
    assert (event.provider, event.event_id, event.kind, event.occurred_at) == (
        "twilio",
        "SM1:delivered",
        EventKind.DELIVERED,
        NOW,
    )


def test_a_new_module_in_the_package_is_found_with_nothing_else_listing_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = tmp_path / "more_providers"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "acme_events.py").write_text(
        "from app.providers.twilio_callbacks import TwilioCallbacks\n"
        "class AcmeCallbacks(TwilioCallbacks):\n"
        "    provider_id = 'acme'\n"
        "    display_name = 'Acme'\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        import more_providers  # type: ignore[import-not-found]

        found = discover(more_providers, StatusCallbacks, key="provider_id")  # type: ignore[type-abstract]
    finally:
        for name in ("more_providers", "more_providers.acme_events"):
            sys.modules.pop(name, None)
    assert [(key, cls.__name__) for key, cls in found.items()] == [("acme", "AcmeCallbacks")]
    assert found["acme"].event_path() == "/webhooks/acme/events"
