"""Every adapter says whether it can prove its credentials without sending, and the sandbox answers it.

An adapter with a harmless authenticated call (or an OAuth token grant) declares where the provider
documents it; the sandbox stand-in takes its own account's credentials there and refuses a wrong
one. An adapter without one (an incoming webhook) declares nothing and is never asked.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest
from starlette.applications import Starlette

from app.providers.base import HttpAdapter
from app.providers.registry import ADAPTERS
from app.sandbox.accounts import accounts
from app.sandbox.app import create_sandbox_app
from app.sandbox.oauth_tokens import GOOGLE_CLIENT_EMAIL, GOOGLE_PROJECT_ID, new_service_account

SANDBOX_URL = "http://sandbox.test"
CHECKABLE = sorted(p for p, cls in ADAPTERS.items() if cls.credential_check_doc)
NOT_CHECKABLE = sorted(p for p, cls in ADAPTERS.items() if not cls.credential_check_doc)


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    served: Starlette = create_sandbox_app()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(served), base_url=SANDBOX_URL) as client:
            yield client
    finally:
        await served.state.callbacks.close()


def _adapter(provider_id: str, http: httpx.AsyncClient, **secrets: str) -> HttpAdapter:
    account = accounts(SANDBOX_URL)[provider_id]
    settings = {k: v for k, v in account.settings.items() if k != "rate_per_sec"}
    return ADAPTERS[provider_id].create(http, settings, {**account.secrets, **secrets})


def _wrong(name: str, value: str) -> str:
    """Another credential of the same shape: a key file of another service account, or another string."""
    if name == "service_account_json":
        return json.dumps(new_service_account(GOOGLE_CLIENT_EMAIL, GOOGLE_PROJECT_ID)[0])
    return value[:-1] + ("x" if not value.endswith("x") else "y")


def test_the_shipped_providers_are_sorted_into_checked_and_not_checkable() -> None:
    assert {"twilio", "sendgrid", "mailgun", "postmark", "mandrill", "ses", "gmail", "msgraph", "sfmc"} <= set(
        CHECKABLE
    )
    assert {"fcm", "hubspot", "freshdesk", "zendesk", "twilio_whatsapp"} <= set(CHECKABLE)
    assert {"slack", "teams", "zapier"} <= set(NOT_CHECKABLE)
    for provider_id in CHECKABLE:
        assert str(ADAPTERS[provider_id].credential_check_doc).startswith("https://"), provider_id


@pytest.mark.parametrize("provider_id", CHECKABLE)
async def test_the_sandbox_accepts_the_accounts_credentials(provider_id: str, http: httpx.AsyncClient) -> None:
    check = await _adapter(provider_id, http).check_credentials()

    assert check is not None
    assert check.accepted is True, check.detail
    assert check.call.split()[0] in ("GET", "POST") and check.call.split()[1].startswith("/")


@pytest.mark.parametrize("provider_id", CHECKABLE)
async def test_a_wrong_secret_is_not_accepted_and_never_shown(provider_id: str, http: httpx.AsyncClient) -> None:
    account = accounts(SANDBOX_URL)[provider_id]
    for name, value in account.secrets.items():
        wrong = _wrong(name, value)
        check = await _adapter(provider_id, http, **{name: wrong}).check_credentials()

        assert check is not None
        assert check.accepted is not True, (name, check.detail)
        for secret in (value, wrong):
            assert secret not in check.detail and secret not in check.call


@pytest.mark.parametrize("provider_id", NOT_CHECKABLE)
async def test_a_webhook_provider_is_not_asked(provider_id: str, http: httpx.AsyncClient) -> None:
    adapter = _adapter(provider_id, http)

    assert adapter.credential_request() is None
    assert await adapter.check_credentials() is None


async def test_a_wrong_key_is_refused_where_the_provider_can_tell(http: httpx.AsyncClient) -> None:
    refused = await _adapter("sendgrid", http, api_key="SG.not-the-key").check_credentials()
    assert refused is not None and refused.accepted is False
    assert refused.detail == "SendGrid refused the credentials (401 Unauthorized)."
    mandrill = await _adapter("mandrill", http, api_key="not-the-key").check_credentials()
    assert mandrill is not None and mandrill.accepted is False and "Invalid_Key" in mandrill.detail


async def test_mailgun_cannot_tell_a_wrong_key_from_a_sending_key_but_knows_a_wrong_domain(
    http: httpx.AsyncClient,
) -> None:
    key = await _adapter("mailgun", http, api_key="key-sending-only").check_credentials()
    assert key is not None and key.accepted is None and "sending key" in key.detail

    account = accounts(SANDBOX_URL)["mailgun"]
    settings = {k: v for k, v in account.settings.items() if k != "rate_per_sec"} | {"domain": "other.example"}
    domain = await ADAPTERS["mailgun"].create(http, settings, account.secrets).check_credentials()
    assert domain is not None and domain.accepted is False
    assert domain.detail == "Mailgun has no domain other.example on this account."


async def test_an_unreachable_provider_is_a_transient_error() -> None:
    from app.domain.errors import TransientProviderError

    async with httpx.AsyncClient() as client:
        adapter = ADAPTERS["sendgrid"].create(
            client, {"from_email": "a@b.example", "base_url": "http://127.0.0.1:9"}, {"api_key": "k"}
        )
        with pytest.raises(TransientProviderError, match="could not be reached"):
            await adapter.check_credentials()
