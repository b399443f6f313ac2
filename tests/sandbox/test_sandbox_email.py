"""The Mailgun, Mandrill, Postmark and SES stand-ins over real loopback HTTP.

Each provider is driven end to end by our own adapter (base_url pointing at the stand-in) and by
the provider's official SDK, then with bad credentials and with an injected fault.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import httpx
import httpx2
import mailchimp_transactional
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from mailgun.builders import MailgunMessageBuilder
from mailgun.client import AsyncClient as MailgunAsyncClient
from postmark import Email, InvalidAPIKeyException, ServerClient
from starlette.applications import Starlette

from app.domain.channels import Channel
from app.domain.errors import PermanentProviderError, TransientProviderError
from app.domain.message import Attachment, OutboundMessage, SendStatus
from app.providers.mailgun import MailgunAdapter
from app.providers.mandrill import MandrillAdapter
from app.providers.postmark import PostmarkAdapter
from app.providers.ses import SesAdapter
from app.sandbox import mailgun, mandrill, postmark, ses
from app.sandbox.faults import Faults
from app.sandbox.store import MessageRecord, MessageStore
from app.support.asgi_server import start_asgi_server

CUSTOMER = "ana.garcia@example.com"
PDF = b"%PDF-1.7 receipt"


@dataclass
class Sandbox:
    """The four stand-ins on one loopback server, with their store and faults."""

    url: str
    store: MessageStore
    faults: Faults

    def only(self, provider: str) -> MessageRecord:
        (record,) = self.store.messages(provider)
        return record


@pytest.fixture
async def stand_in() -> AsyncIterator[Sandbox]:
    store, faults = MessageStore(), Faults()
    modules = (mailgun, mandrill, postmark, ses)
    app = Starlette(routes=[route for module in modules for route in module.routes(store, faults)])
    server = await start_asgi_server(app, name="email-sandbox")
    try:
        yield Sandbox(server.url, store, faults)
    finally:
        await server.stop()


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=5.0) as client:
        yield client


def receipt(key: str = "dlv-7-email", **overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "channel": Channel.EMAIL,
        "to": CUSTOMER,
        "idempotency_key": key,
        "subject": "Your receipt from Demo Market",
        "text": "Total $12.34",
        "html": "<p>Total <b>$12.34</b></p>",
        "metadata": {"sale_id": "S-1001"},
    }
    return OutboundMessage(**(values | overrides))


def assert_recorded(record: MessageRecord, provider_id: str | None, key: str = "dlv-7-email") -> None:
    assert provider_id and record.id == provider_id
    assert record.to == (CUSTOMER,)
    assert record.idempotency_key == key
    assert (record.subject, record.text) == ("Your receipt from Demo Market", "Total $12.34")
    assert record.html_sha256 == MessageRecord.digest_html("<p>Total <b>$12.34</b></p>")[1]


# --- Mailgun ------------------------------------------------------------------------------------


def mailgun_adapter(http: httpx.AsyncClient, url: str, api_key: str = mailgun.MAILGUN_API_KEY) -> MailgunAdapter:
    settings = {"domain": mailgun.MAILGUN_DOMAIN, "from_email": mailgun.MAILGUN_FROM, "base_url": url}
    return MailgunAdapter.create(http, settings, {"api_key": api_key})


async def test_mailgun_adapter_end_to_end(stand_in: Sandbox, http: httpx.AsyncClient) -> None:
    result = await mailgun_adapter(http, stand_in.url).send(receipt())
    assert result.status is SendStatus.ACCEPTED
    record = stand_in.only("mailgun")
    assert_recorded(record, result.provider_message_id)
    assert record.custom_args == {"sale_id": "S-1001", "receiptdesk_key": "dlv-7-email"}


async def test_mailgun_multipart_attachment_and_template(stand_in: Sandbox, http: httpx.AsyncClient) -> None:
    adapter = mailgun_adapter(http, stand_in.url)
    with_file = receipt("k-file", attachments=(Attachment("receipt.pdf", "application/pdf", PDF),))
    template = receipt("k-tpl", text=None, html=None, provider_extra={"template": "receipt", "template_variables": {}})
    assert (await adapter.send(with_file)).status is SendStatus.ACCEPTED
    assert (await adapter.send(template)).status is SendStatus.ACCEPTED
    assert [(r.idempotency_key, r.template_id) for r in stand_in.store] == [("k-file", None), ("k-tpl", "receipt")]


async def test_official_mailgun_sdk_sends_through_the_stand_in(stand_in: Sandbox) -> None:
    builder = MailgunMessageBuilder(mailgun.MAILGUN_FROM).add_recipient(CUSTOMER).set_subject("Receipt")
    data, files = builder.set_text("Total $12.34").add_custom_variable("receiptdesk_key", "sdk-1").build()
    async with MailgunAsyncClient(auth=("api", mailgun.MAILGUN_API_KEY), api_url=stand_in.url) as client:
        response = await client.messages.create(data=data, domain=mailgun.MAILGUN_DOMAIN, files=files)
    assert isinstance(response, httpx2.Response)
    assert response.status_code == 200
    assert response.json()["message"] == "Queued. Thank you."
    assert stand_in.only("mailgun").idempotency_key == "sdk-1"


async def test_mailgun_refuses_bad_key_wrong_domain_and_invalid_form(
    stand_in: Sandbox, http: httpx.AsyncClient
) -> None:
    with pytest.raises(PermanentProviderError) as info:
        await mailgun_adapter(http, stand_in.url, api_key="wrong").send(receipt())
    assert (info.value.status_code, "Forbidden" in info.value.message) == (401, True)
    settings = {"domain": "other.example", "from_email": mailgun.MAILGUN_FROM, "base_url": stand_in.url}
    with pytest.raises(PermanentProviderError, match="Domain not found"):
        await MailgunAdapter.create(http, settings, {"api_key": mailgun.MAILGUN_API_KEY}).send(receipt())
    response = await http.post(
        f"{stand_in.url}/v3/{mailgun.MAILGUN_DOMAIN}/messages",
        data={"from": mailgun.MAILGUN_FROM, "to": CUSTOMER, "text": "x"},
        auth=("api", mailgun.MAILGUN_API_KEY),
    )
    assert (response.status_code, response.json()) == (400, {"message": "'subject' parameter is missing"})
    assert stand_in.store.total() == 0


# --- Mandrill -----------------------------------------------------------------------------------


def mandrill_adapter(http: httpx.AsyncClient, url: str, api_key: str = mandrill.MANDRILL_API_KEY) -> MandrillAdapter:
    settings = {"from_email": mandrill.MANDRILL_FROM, "base_url": url}
    return MandrillAdapter.create(http, settings, {"api_key": api_key})


async def test_mandrill_adapter_end_to_end(stand_in: Sandbox, http: httpx.AsyncClient) -> None:
    adapter = mandrill_adapter(http, stand_in.url)
    result = await adapter.send(receipt())
    assert (result.status, result.raw_status) == (SendStatus.ACCEPTED, "sent")
    assert_recorded(stand_in.only("mandrill"), result.provider_message_id)
    template = receipt("k-tpl", html=None, provider_extra={"template_name": "receipt-v2"})
    assert (await adapter.send(template)).status is SendStatus.ACCEPTED
    assert stand_in.store.messages("mandrill")[-1].template_id == "receipt-v2"


async def test_mandrill_rejected_recipient_is_rejected_and_not_recorded(
    stand_in: Sandbox, http: httpx.AsyncClient
) -> None:
    message = receipt(to=f"gone@{mandrill.REJECTED_DOMAIN}")
    result = await mandrill_adapter(http, stand_in.url).send(message)
    assert (result.status, result.detail) == (SendStatus.REJECTED, "rejected: hard-bounce")
    assert stand_in.store.total() == 0


async def test_official_mandrill_sdk_sends_through_the_stand_in(stand_in: Sandbox) -> None:
    client = mailchimp_transactional.Client(mandrill.MANDRILL_API_KEY)
    client.api_client.host = f"{stand_in.url}/api/1.3"
    message = {
        "from_email": mandrill.MANDRILL_FROM,
        "subject": "Receipt",
        "text": "Total $12.34",
        "to": [{"email": CUSTOMER, "type": "to"}],
        "metadata": {"receiptdesk_key": "sdk-2"},
    }
    results = await asyncio.to_thread(client.messages.send, {"message": message})
    assert [r["status"] for r in results] == ["sent"]
    assert stand_in.only("mandrill").idempotency_key == "sdk-2"


async def test_mandrill_bad_key_is_permanent_with_http_500(stand_in: Sandbox, http: httpx.AsyncClient) -> None:
    with pytest.raises(PermanentProviderError) as info:
        await mandrill_adapter(http, stand_in.url, api_key="wrong").send(receipt())
    assert (info.value.status_code, info.value.code) == (500, "Invalid_Key")


# --- Postmark -----------------------------------------------------------------------------------


def postmark_adapter(http: httpx.AsyncClient, url: str, token: str = postmark.POSTMARK_SERVER_TOKEN) -> PostmarkAdapter:
    settings = {"from_email": postmark.POSTMARK_FROM, "base_url": url}
    return PostmarkAdapter.create(http, settings, {"server_token": token})


async def test_postmark_adapter_end_to_end(stand_in: Sandbox, http: httpx.AsyncClient) -> None:
    adapter = postmark_adapter(http, stand_in.url)
    result = await adapter.send(receipt())
    assert result.status is SendStatus.ACCEPTED
    assert_recorded(stand_in.only("postmark"), result.provider_message_id)
    template = receipt("k-tpl", provider_extra={"template_alias": "receipt", "template_model": {"total": "12.34"}})
    assert (await adapter.send(template)).status is SendStatus.ACCEPTED
    assert stand_in.store.messages("postmark")[-1].template_id == "receipt"


async def test_postmark_inactive_recipient_and_bad_token(stand_in: Sandbox, http: httpx.AsyncClient) -> None:
    inactive = await postmark_adapter(http, stand_in.url).send(receipt(to=f"ana@{postmark.INACTIVE_DOMAIN}"))
    assert (inactive.status, inactive.raw_status) == (SendStatus.REJECTED, "406")
    with pytest.raises(PermanentProviderError) as info:
        await postmark_adapter(http, stand_in.url, token="wrong").send(receipt())
    assert (info.value.status_code, info.value.code) == (401, "10")
    assert stand_in.store.total() == 0


async def test_official_postmark_sdk_sends_through_the_stand_in(stand_in: Sandbox) -> None:
    message = Email(
        From=postmark.POSTMARK_FROM,
        To=CUSTOMER,
        Subject="Receipt",
        TextBody="Total",
        Metadata={"receiptdesk_key": "s3"},
    )
    async with ServerClient(postmark.POSTMARK_SERVER_TOKEN, retries=0, base_url=stand_in.url) as client:
        response = await client.outbound.send(message)
    assert (response.error_code, response.message_id) == (0, stand_in.only("postmark").id)
    async with ServerClient("wrong-token", retries=0, base_url=stand_in.url) as client:
        with pytest.raises(InvalidAPIKeyException):
            await client.outbound.send(message)


# --- Amazon SES ---------------------------------------------------------------------------------


def ses_adapter(http: httpx.AsyncClient, url: str, **overrides: Any) -> SesAdapter:
    kwargs: dict[str, Any] = {
        "access_key_id": ses.SES_ACCESS_KEY_ID,
        "secret_access_key": ses.SES_SECRET_ACCESS_KEY,
        "region": ses.SES_REGION,
        "from_email": ses.SES_FROM,
        "base_url": url,
    }
    return SesAdapter(http, **(kwargs | overrides))


async def test_ses_adapter_end_to_end_simple_raw_and_template(stand_in: Sandbox, http: httpx.AsyncClient) -> None:
    adapter = ses_adapter(http, stand_in.url, session_token="sandbox-session-token")
    result = await adapter.send(receipt())
    assert result.status is SendStatus.ACCEPTED
    assert_recorded(stand_in.only("ses"), result.provider_message_id)
    assert stand_in.only("ses").custom_args == {"sale_id": "S-1001", "receiptdesk_key": "dlv-7-email"}

    raw = receipt("k-raw", attachments=(Attachment("receipt.pdf", "application/pdf", PDF),))
    template = receipt("k-tpl", provider_extra={"template_name": "receipt", "template_data": {"total": "12.34"}})
    for message in (raw, template):
        assert (await adapter.send(message)).status is SendStatus.ACCEPTED
    raw_record, template_record = stand_in.store.messages("ses")[1:]
    assert (raw_record.subject, raw_record.text.strip() if raw_record.text else None) == (raw.subject, raw.text)
    assert (template_record.template_id, template_record.idempotency_key) == ("receipt", "k-tpl")


def boto_client(url: str, secret: str = ses.SES_SECRET_ACCESS_KEY) -> Any:
    return boto3.client(
        "sesv2",
        region_name=ses.SES_REGION,
        endpoint_url=url,
        aws_access_key_id=ses.SES_ACCESS_KEY_ID,
        aws_secret_access_key=secret,
        config=Config(retries={"total_max_attempts": 1}),
    )


BOTO_SEND = {
    "FromEmailAddress": ses.SES_FROM,
    "Destination": {"ToAddresses": [CUSTOMER]},
    "Content": {"Simple": {"Subject": {"Data": "Receipt"}, "Body": {"Text": {"Data": "Total $12.34"}}}},
    "EmailTags": [{"Name": "receiptdesk_key", "Value": "boto-1"}],
}


async def test_boto3_signature_is_verified_by_the_stand_in(stand_in: Sandbox) -> None:
    answer = await asyncio.to_thread(boto_client(stand_in.url).send_email, **BOTO_SEND)
    assert answer["MessageId"] == stand_in.only("ses").id
    with pytest.raises(ClientError) as info:
        await asyncio.to_thread(boto_client(stand_in.url, secret="wrong").send_email, **BOTO_SEND)
    assert info.value.response["Error"]["Code"] == "InvalidSignatureException"
    assert stand_in.store.total() == 1


@pytest.mark.parametrize(
    ("overrides", "code"),
    [
        ({"secret_access_key": "wrong"}, "InvalidSignatureException"),
        ({"access_key_id": "AKIDUNKNOWN0000000000"}, "UnrecognizedClientException"),
        ({"region": "eu-west-1"}, "InvalidSignatureException"),
        ({"clock": lambda: datetime.now(UTC) - timedelta(minutes=10)}, "InvalidSignatureException"),
        ({"from_email": "receipts@unverified.example"}, "MessageRejected"),
    ],
    ids=["secret", "access-key", "region", "clock-skew", "unverified-sender"],
)
async def test_ses_refusals_are_permanent(
    stand_in: Sandbox, http: httpx.AsyncClient, overrides: dict[str, Any], code: str
) -> None:
    with pytest.raises(PermanentProviderError) as info:
        await ses_adapter(http, stand_in.url, **overrides).send(receipt())
    assert not isinstance(info.value, TransientProviderError)
    assert info.value.code == code
    assert stand_in.store.total() == 0


async def test_ses_unsigned_request_is_refused(stand_in: Sandbox, http: httpx.AsyncClient) -> None:
    response = await http.post(f"{stand_in.url}/v2/email/outbound-emails", json=BOTO_SEND)
    assert response.status_code == 403
    assert response.headers["x-amzn-ErrorType"].startswith("MissingAuthenticationTokenException:")


# --- injected faults: one answer in each provider's error shape, nothing recorded -----------------

ADAPTERS = {
    "mailgun": mailgun_adapter,
    "mandrill": mandrill_adapter,
    "postmark": postmark_adapter,
    "ses": ses_adapter,
}


@pytest.mark.parametrize("provider", ADAPTERS)
async def test_injected_throttle_is_transient_with_retry_after(
    stand_in: Sandbox, http: httpx.AsyncClient, provider: str
) -> None:
    stand_in.faults.configure(throttle_rate=1.0, retry_after=2)
    with pytest.raises(TransientProviderError) as info:
        await ADAPTERS[provider](http, stand_in.url).send(receipt())
    assert (info.value.status_code, info.value.retry_after) == (429, 2.0)
    assert stand_in.store.total() == 0


@pytest.mark.parametrize("provider", ADAPTERS)
async def test_injected_server_error_is_transient_then_recovers(
    stand_in: Sandbox, http: httpx.AsyncClient, provider: str
) -> None:
    adapter = ADAPTERS[provider](http, stand_in.url)
    stand_in.faults.configure(error_rate=1.0, error_status=503)
    with pytest.raises(TransientProviderError) as info:
        await adapter.send(receipt())
    assert info.value.status_code == 503
    assert stand_in.store.total() == 0
    stand_in.faults.clear()
    assert (await adapter.send(receipt())).status is SendStatus.ACCEPTED
    assert stand_in.store.total(provider) == 1


async def test_boto3_sees_the_injected_throttle_as_too_many_requests(stand_in: Sandbox) -> None:
    stand_in.faults.configure(throttle_rate=1.0, retry_after=1)
    with pytest.raises(ClientError) as info:
        await asyncio.to_thread(boto_client(stand_in.url).send_email, **BOTO_SEND)
    assert info.value.response["Error"]["Code"] == "TooManyRequestsException"
    assert info.value.response["ResponseMetadata"]["HTTPStatusCode"] == 429
