"""The OAuth provider stand-ins over real loopback HTTP, driven by our adapters and by google-auth.

Each test serves the token endpoints and the Gmail, Graph, FCM and SFMC stand-ins in one
Starlette app (fresh store, faults and token registry), then sends through the real adapter with
its base URLs pointing there: accepted sends are recorded, refused tokens answer 401 in the
provider's own shape, expired tokens are renewed by the adapter, injected faults record nothing.
Oracle: google-auth's service-account credentials obtain a token from the sandbox's token_uri.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from email.message import EmailMessage
from typing import Any

import google.auth.transport.requests
import httpx
import pytest
from google.oauth2 import service_account
from starlette.applications import Starlette

from app.domain.channels import Channel
from app.domain.errors import PermanentProviderError, TransientProviderError
from app.domain.message import Attachment, OutboundMessage, SendStatus
from app.providers.fcm import FcmAdapter
from app.providers.gmail import GmailAdapter
from app.providers.msgraph import MsGraphAdapter
from app.providers.sfmc import SfmcAdapter
from app.sandbox import fcm, gmail, msgraph, oauth_tokens, sfmc
from app.sandbox.faults import Faults
from app.sandbox.oauth_tokens import ADAPTER_SECRETS, TokenRegistry, adapter_settings, new_service_account
from app.sandbox.store import MessageRecord, MessageStore
from app.support.asgi_server import RunningServer, start_asgi_server

ADAPTERS: dict[str, Any] = {"gmail": GmailAdapter, "msgraph": MsGraphAdapter, "fcm": FcmAdapter, "sfmc": SfmcAdapter}
PROVIDERS = list(ADAPTERS)
CUSTOMER = "ana.garcia@example.com"
DEVICE = "fGw0qy4TGgk:APA91bGkq1hnK1uvD7jzL6x0pQ3Vv0Wm8xR2cT5nY9bA4eS7dF1gH3jK6lM0oP2q"
PDF = b"%PDF-1.7 receipt"


def message_for(provider: str, key: str = "dlv-7") -> OutboundMessage:
    if provider == "fcm":
        payload = {"title": "Demo Market", "body": "Total $12.34", "receipt_id": "R-7"}
        return OutboundMessage(Channel.PUSH, to=DEVICE, idempotency_key=key, push_payload=payload)
    attachments = () if provider == "sfmc" else (Attachment("receipt.pdf", "application/pdf", PDF),)
    return OutboundMessage(
        Channel.EMAIL,
        to=CUSTOMER,
        idempotency_key=key,
        subject="Your receipt from Demo Market",
        text="Total $12.34",
        html="<p>Total <b>$12.34</b></p>",
        attachments=attachments,
        metadata={"sale_id": "S-7"},
    )


@dataclass
class Sandbox:
    """One served sandbox and a client for it."""

    server: RunningServer
    store: MessageStore
    faults: Faults
    tokens: TokenRegistry
    http: httpx.AsyncClient

    @property
    def url(self) -> str:
        return self.server.url

    def adapter(self, provider: str, **settings: str) -> Any:
        merged = adapter_settings(self.url)[provider] | settings
        return ADAPTERS[provider].create(self.http, merged, ADAPTER_SECRETS[provider])


@pytest.fixture
async def sandbox() -> AsyncIterator[Sandbox]:
    store, faults, tokens = MessageStore(), Faults(), TokenRegistry()
    routes = [*oauth_tokens.routes(tokens)]
    for module in (gmail, msgraph, fcm, sfmc):
        routes += module.routes(store, faults, tokens)
    server = await start_asgi_server(Starlette(routes=routes), name="oauth-sandbox")
    try:
        async with httpx.AsyncClient(timeout=5.0) as http:
            yield Sandbox(server, store, faults, tokens, http)
    finally:
        await server.stop()


# --- accepted sends are recorded -------------------------------------------------------------------


async def test_gmail_send_is_recorded(sandbox: Sandbox) -> None:
    result = await sandbox.adapter("gmail").send(message_for("gmail"))
    assert result.status is SendStatus.ACCEPTED
    [record] = sandbox.store.messages("gmail")
    assert (record.id, record.to, record.from_) == (result.provider_message_id, (CUSTOMER,), oauth_tokens.GMAIL_SENDER)
    assert (record.subject, record.text, record.idempotency_key) == (
        "Your receipt from Demo Market",
        "Total $12.34",
        "dlv-7",
    )
    assert (record.html_length, record.html_sha256) == MessageRecord.digest_html("<p>Total <b>$12.34</b></p>")
    assert record.custom_args["attachments"] == ["receipt.pdf"]
    assert record.custom_args["message_id"].startswith("<receiptdesk.")


async def test_graph_send_is_recorded(sandbox: Sandbox) -> None:
    result = await sandbox.adapter("msgraph").send(message_for("msgraph"))
    assert (result.status, result.provider_message_id) == (SendStatus.ACCEPTED, "dlv-7")
    [record] = sandbox.store.messages("msgraph")
    assert (record.to, record.from_, record.idempotency_key) == ((CUSTOMER,), oauth_tokens.MS_SENDER, "dlv-7")
    assert record.html_length == len("<p>Total <b>$12.34</b></p>")
    assert record.custom_args["attachments"] == ["receipt.pdf"]


async def test_fcm_send_is_recorded(sandbox: Sandbox) -> None:
    result = await sandbox.adapter("fcm").send(message_for("fcm"))
    assert result.status is SendStatus.ACCEPTED
    [record] = sandbox.store.messages("fcm")
    assert result.provider_message_id == f"projects/{oauth_tokens.GOOGLE_PROJECT_ID}/messages/{record.id}"
    assert (record.to, record.subject, record.body) == ((DEVICE,), "Demo Market", "Total $12.34")
    assert record.custom_args == {"receipt_id": "R-7", "receiptdesk_key": "dlv-7"}
    assert record.idempotency_key == "dlv-7"


async def test_sfmc_send_is_recorded(sandbox: Sandbox) -> None:
    result = await sandbox.adapter("sfmc").send(message_for("sfmc"))
    assert (result.status, result.provider_message_id) == (SendStatus.ACCEPTED, "dlv-7")
    [record] = sandbox.store.messages("sfmc")
    assert (record.id, record.to, record.template_id) == ("dlv-7", (CUSTOMER,), oauth_tokens.SFMC_DEFINITION_KEY)
    assert record.custom_args == {"contactKey": CUSTOMER, "sale_id": "S-7", "receiptdesk_key": "dlv-7"}


# --- tokens ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_expired_token_is_renewed_by_the_adapter(sandbox: Sandbox, provider: str) -> None:
    adapter = sandbox.adapter(provider)
    await adapter.send(message_for(provider, "k-1"))
    sandbox.tokens.expire_all()
    result = await adapter.send(message_for(provider, "k-2"))
    assert result.status is SendStatus.ACCEPTED
    assert adapter.tokens.refreshes == 2
    assert sandbox.store.total(provider) == 2


API = {
    "gmail": (f"/gmail/v1/users/{oauth_tokens.GMAIL_SENDER}/messages/send", {"raw": "eA"}),
    "msgraph": (f"/v1.0/users/{oauth_tokens.MS_SENDER}/sendMail", {"message": {}}),
    "fcm": (f"/v1/projects/{oauth_tokens.GOOGLE_PROJECT_ID}/messages:send", {"message": {}}),
    "sfmc": ("/messaging/v1/email/messages/k-1", {}),
}


@pytest.mark.parametrize("provider", PROVIDERS)
@pytest.mark.parametrize("authorization", [None, "Bearer not-a-token", "Basic dXNlcjpwYXNz"])
async def test_refused_token_is_401_in_the_providers_shape(
    sandbox: Sandbox, provider: str, authorization: str | None
) -> None:
    path, body = API[provider]
    headers = {"Authorization": authorization} if authorization else {}
    response = await sandbox.http.post(sandbox.url + path, json=body, headers=headers)
    assert response.status_code == 401
    payload = response.json()
    if provider in ("gmail", "fcm"):
        assert payload["error"]["status"] == "UNAUTHENTICATED"
    elif provider == "msgraph":
        assert payload["error"]["code"] == "InvalidAuthenticationToken"
    else:
        assert payload["message"] == "Not Authorized"
    assert sandbox.store.total() == 0


async def test_a_token_of_another_issuer_is_refused(sandbox: Sandbox) -> None:
    graph = sandbox.adapter("msgraph")
    token = await graph.tokens.get()
    path, body = API["gmail"]
    response = await sandbox.http.post(
        sandbox.url + path, json=body, headers={"Authorization": f"Bearer {token.value}"}
    )
    assert response.status_code == 401


async def test_google_auth_gets_a_token_from_the_sandbox(sandbox: Sandbox) -> None:
    info = {**oauth_tokens.SERVICE_ACCOUNT_INFO, "token_uri": sandbox.url + oauth_tokens.GOOGLE_TOKEN_PATH}
    credentials = service_account.Credentials.from_service_account_info(
        info, scopes=["https://www.googleapis.com/auth/gmail.send"], subject=oauth_tokens.GMAIL_SENDER
    )
    await asyncio.to_thread(credentials.refresh, google.auth.transport.requests.Request())
    assert credentials.token and credentials.valid

    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = oauth_tokens.GMAIL_SENDER, CUSTOMER, "Hello"
    mail.set_content("Sent with a google-auth token")
    raw = base64.urlsafe_b64encode(mail.as_bytes()).decode()
    path = "/gmail/v1/users/me/messages/send"
    response = await sandbox.http.post(
        sandbox.url + path, json={"raw": raw}, headers={"Authorization": f"Bearer {credentials.token}"}
    )
    assert response.status_code == 200
    assert response.json()["labelIds"] == ["SENT"]


async def test_assertion_signed_with_another_key_is_invalid_grant(sandbox: Sandbox) -> None:
    forged, _ = new_service_account(oauth_tokens.GOOGLE_CLIENT_EMAIL, oauth_tokens.GOOGLE_PROJECT_ID)
    forged["private_key_id"] = oauth_tokens.SERVICE_ACCOUNT_INFO["private_key_id"]
    settings = adapter_settings(sandbox.url)["gmail"]
    adapter = GmailAdapter.create(sandbox.http, settings, {"service_account_json": json.dumps(forged)})
    with pytest.raises(PermanentProviderError, match="Invalid JWT Signature") as info:
        await adapter.send(message_for("gmail"))
    assert (info.value.status_code, info.value.code) == (400, "invalid_grant")


async def test_delegation_outside_the_domain_is_unauthorized_client(sandbox: Sandbox) -> None:
    adapter = sandbox.adapter("gmail", sender="someone@elsewhere.example")
    with pytest.raises(PermanentProviderError) as info:
        await adapter.send(message_for("gmail"))
    assert (info.value.status_code, info.value.code) == (401, "unauthorized_client")


@pytest.mark.parametrize("provider", ["msgraph", "sfmc"])
async def test_wrong_client_secret_is_invalid_client(sandbox: Sandbox, provider: str) -> None:
    secrets = {"client_secret": "not-the-secret"}
    adapter = ADAPTERS[provider].create(sandbox.http, adapter_settings(sandbox.url)[provider], secrets)
    with pytest.raises(PermanentProviderError) as info:
        await adapter.send(message_for(provider))
    assert (info.value.status_code, info.value.code) == (401, "invalid_client")
    assert "not-the-secret" not in str(info.value)


# --- faults and provider-specific refusals ---------------------------------------------------------


@pytest.mark.parametrize("provider", PROVIDERS)
async def test_injected_throttling_is_transient_and_records_nothing(sandbox: Sandbox, provider: str) -> None:
    sandbox.faults.configure(throttle_rate=1.0, retry_after=7)
    with pytest.raises(TransientProviderError) as info:
        await sandbox.adapter(provider).send(message_for(provider))
    assert (info.value.status_code, info.value.retry_after) == (429, 7.0)
    sandbox.faults.configure(throttle_rate=0.0, error_rate=1.0, error_status=503)
    with pytest.raises(TransientProviderError) as info:
        await sandbox.adapter(provider).send(message_for(provider))
    assert info.value.status_code == 503
    assert sandbox.store.total() == 0


async def test_fcm_unregistered_device_is_permanent(sandbox: Sandbox) -> None:
    message = OutboundMessage(
        Channel.PUSH,
        to=fcm.UNREGISTERED_PREFIX + "0123456789abcdefghij",
        idempotency_key="k",
        push_payload={"body": "x"},
    )
    with pytest.raises(PermanentProviderError) as info:
        await sandbox.adapter("fcm").send(message)
    assert (info.value.status_code, info.value.code) == (404, "UNREGISTERED")


async def test_sfmc_refuses_a_reused_message_key(sandbox: Sandbox) -> None:
    adapter = sandbox.adapter("sfmc")
    await adapter.send(message_for("sfmc", "k-once"))
    with pytest.raises(PermanentProviderError, match="DuplicateMessageKey"):
        await adapter.send(message_for("sfmc", "k-once"))
    assert sandbox.store.total("sfmc") == 1


async def test_graph_refuses_me_and_unknown_mailboxes(sandbox: Sandbox) -> None:
    token = await sandbox.adapter("msgraph").tokens.get()
    headers = {"Authorization": f"Bearer {token.value}"}
    me = await sandbox.http.post(sandbox.url + "/v1.0/me/sendMail", json={}, headers=headers)
    assert me.status_code == 400
    with pytest.raises(PermanentProviderError, match="ErrorInvalidUser"):
        await sandbox.adapter("msgraph", sender="nobody@demo-market.example").send(message_for("msgraph"))


async def test_validation_errors_come_back_in_the_providers_shape(sandbox: Sandbox) -> None:
    token = await sandbox.adapter("fcm").tokens.get()
    path, _ = API["fcm"]
    headers = {"Authorization": f"Bearer {token.value}"}
    body = {"message": {"token": DEVICE, "data": {"n": 12}}}
    response = await sandbox.http.post(sandbox.url + path, json=body, headers=headers)
    assert response.status_code == 400
    assert response.json()["error"]["message"] == "Invalid value at 'message.data[0].value' (TYPE_STRING), 12"

    gmail_path, _ = API["gmail"]
    gmail_token = await sandbox.adapter("gmail").tokens.get()
    no_to = base64.urlsafe_b64encode(b"Subject: hi\r\n\r\nbody").decode()
    response = await sandbox.http.post(
        sandbox.url + gmail_path, json={"raw": no_to}, headers={"Authorization": f"Bearer {gmail_token.value}"}
    )
    assert (response.status_code, response.json()["error"]["errors"][0]["reason"]) == (400, "invalidArgument")
    assert sandbox.store.total() == 0
