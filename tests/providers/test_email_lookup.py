"""E-mail adapters: one identity per delivery, and asking the provider whether it took a message.

Every attempt of one delivery carries the same `Message-ID` and the same reference (the
idempotency key) in the provider's metadata. The lookup request of each adapter is compared with
what the provider's official SDK sends where one is installed (mailgun, postmark-python,
mailchimp-transactional, sendgrid, google-api-python-client's Gmail discovery document); its
parser reads hand-written answers in tests/fixtures/providers/ shaped as each provider documents
them:

- `mailgun_events_*.json`: Events API page `{items, paging}`, an `accepted` event with
  `message.headers.message-id` and `user-variables`
  (documentation.mailgun.com/docs/mailgun/user-manual/events/event-structure and event-samples);
- `postmark_outbound_search_*.json`: outbound message search `{TotalCount, Messages}`
  (postmarkapp.com/developer/api/messages-api#outbound-message-search);
- `mandrill_search_*.json`: `messages/search` answer, a list of `{ts, _id, sender, subject, email,
  state, metadata, ...}` (mailchimp.com/developer/transactional/api/messages/search-messages-by-date);
- `sendgrid_messages_*.json`: Email Activity `{"messages": [{msg_id, status, ...}]}` and a 403
  error (twilio.com/docs/sendgrid/api-reference/email-activity/filter-all-messages);
- `gmail_messages_list_*.json`: users.messages.list `{messages: [{id, threadId}], resultSizeEstimate}`,
  no `messages` when nothing matches (developers.google.com/gmail/api/reference/rest/v1/users.messages/list);
- `msgraph_sentitems_*.json`: an OData collection `{"@odata.context", "value": [...]}`
  (learn.microsoft.com/en-us/graph/api/mailfolder-list-messages).

End to end, each adapter sends to the real sandbox over loopback, then finds what it sent, does not
find a delivery never sent, and cannot tell (`found=None`) when the sandbox injects a fault.
"""

from __future__ import annotations

import base64
import email.policy
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from email.parser import BytesParser
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import googleapiclient
import httpx
import httpx2
import mailchimp_transactional
import pytest
import requests
from googleapiclient.discovery import build_from_document
from googleapiclient.http import HttpMock
from mailgun.client import AsyncClient as MailgunAsyncClient
from postmark import ServerClient
from sendgrid import SendGridAPIClient

from app.domain.channels import Channel
from app.domain.doubt import Lookup
from app.domain.message import Attachment, OutboundMessage
from app.providers.base import HttpAdapter, HttpRequest
from app.providers.gmail import LOOKUP_SCOPE, GmailAdapter
from app.providers.mime import message_id
from app.providers.registry import adapter_class
from app.sandbox.stand_ins import stand_ins
from app.support.asgi_server import RunningServer
from tests.providers.support import OFFLINE, fixture

KEY = "rd-2f8c1e7a-lookup"
SENT_AFTER = datetime(2026, 12, 4, 21, 50, tzinfo=UTC)
CUSTOMER = "ana.garcia@example.com"
PDF = b"%PDF-1.7 receipt"
ASKABLE = ["sendgrid", "mailgun", "postmark", "mandrill", "gmail", "msgraph"]
EMAIL_PROVIDERS = [*ASKABLE, "ses"]
GMAIL_DISCOVERY = Path(googleapiclient.__file__).parent / "discovery_cache" / "documents" / "gmail.v1.json"


def receipt(key: str = KEY, **overrides: Any) -> OutboundMessage:
    values: dict[str, Any] = {
        "channel": Channel.EMAIL,
        "to": CUSTOMER,
        "idempotency_key": key,
        "subject": "Your receipt from Demo Market",
        "text": "Total $12.40",
        "html": "<p>Total <b>$12.40</b></p>",
        "metadata": {"sale_id": "S-1001"},
    }
    return OutboundMessage(**(values | overrides))


def adapter(provider: str, http: httpx.AsyncClient = OFFLINE, url: str = "http://127.0.0.1:9") -> HttpAdapter:
    """The provider's adapter built as the demo builds it, from its sandbox account on `url`."""
    account = stand_ins()[provider].account(url, "Demo Market")
    adapter = adapter_class(provider).create(http, account.settings, account.secrets)
    assert isinstance(adapter, HttpAdapter)
    return adapter


def sender_of(provider: str) -> str:
    settings = stand_ins()[provider].account("http://127.0.0.1:9", "Demo Market").settings
    return str(settings.get("from_email") or settings["sender"])


def _mime_headers(raw: bytes) -> dict[str, str]:
    mail = BytesParser(policy=email.policy.default).parsebytes(raw)
    return {name.lower(): str(value) for name, value in mail.items()}


def identity(provider: str, request: HttpRequest) -> tuple[str | None, str | None]:
    """(Message-ID, delivery reference) as they travel in one send request."""
    if provider == "mailgun":
        assert request.content is not None
        fields = dict(parse_qsl(request.content.decode("ascii")))
        return fields.get("h:Message-Id"), fields.get("v:receiptdesk_key")
    if provider == "ses":
        assert request.content is not None
        body = json.loads(request.content)
        tags = {tag["Name"]: tag["Value"] for tag in body["EmailTags"]}
        raw = body["Content"].get("Raw")
        msgid = _mime_headers(base64.b64decode(raw["Data"])).get("message-id") if raw else None
        return msgid, tags.get("receiptdesk_key")
    body = request.json
    if provider == "sendgrid":
        return body["headers"]["Message-ID"], body["personalizations"][0]["custom_args"]["receiptdesk_key"]
    if provider == "postmark":
        headers = {h["Name"]: h["Value"] for h in body["Headers"]}
        return headers["Message-ID"], body["Metadata"]["receiptdesk_key"]
    if provider == "mandrill":
        return body["message"]["headers"]["Message-Id"], body["message"]["metadata"]["receiptdesk_key"]
    if provider == "gmail":
        headers = _mime_headers(base64.urlsafe_b64decode(body["raw"]))
        return headers["message-id"], headers["x-receiptdesk-key"]
    assert provider == "msgraph"
    headers = {h["name"]: h["value"] for h in body["message"]["internetMessageHeaders"]}
    return body["message"]["internetMessageId"], headers["x-receiptdesk-key"]


# --- one identity per delivery -------------------------------------------------------------------


@pytest.mark.parametrize("provider", EMAIL_PROVIDERS)
def test_every_attempt_of_a_delivery_carries_the_same_message_id_and_reference(provider: str) -> None:
    # SES carries a Message-ID only in raw MIME, which it sends for a message with attachments.
    attachments = (Attachment("receipt.pdf", "application/pdf", PDF),) if provider == "ses" else ()
    message = receipt(attachments=attachments)
    first, second = adapter(provider).request(message), adapter(provider).request(message)
    other = adapter(provider).request(receipt("rd-another-delivery", attachments=attachments))

    expected = message_id(KEY, sender_of(provider))
    assert identity(provider, first) == identity(provider, second) == (expected, KEY)
    assert identity(provider, other)[0] != expected
    assert expected.startswith("<receiptdesk.") and expected.endswith("@demo-market.example>")


def test_the_message_id_is_a_valid_msg_id_whatever_the_key() -> None:
    for key in ("rd-1", "a key with spaces and <brackets>", "clé-ünïcode", ""):
        msgid = message_id(key, "Demo Market <receipts@demo-market.example>")
        assert msgid == message_id(key, "receipts@demo-market.example")
        left = msgid.removeprefix("<").removesuffix(">").split("@")[0]
        assert left.replace(".", "").isalnum() and left.isascii()


# --- who can be asked ----------------------------------------------------------------------------


@pytest.mark.parametrize("provider", ASKABLE)
def test_askable_providers_cite_their_lookup_call(provider: str) -> None:
    cls = adapter_class(provider)
    assert cls.can_look_up()
    assert cls.lookup_doc is not None and cls.lookup_doc.startswith("https://")


async def test_ses_cannot_be_asked_and_says_so() -> None:
    ses = adapter("ses")
    assert not ses.can_look_up() and type(ses).lookup_doc is None
    assert ses.lookup_request(receipt(), sent_after=SENT_AFTER) is None
    assert await ses.look_up(receipt(), sent_after=SENT_AFTER) is None
    assert "cannot be asked" in (type(ses).__doc__ or "")


# --- the lookup requests, against the official SDKs -----------------------------------------------


def _query(url: str) -> dict[str, list[str]]:
    return parse_qs(urlsplit(url).query, keep_blank_values=True)


async def test_mailgun_lookup_is_the_sdk_events_call() -> None:
    request = adapter("mailgun").lookup_request(receipt(), sent_after=SENT_AFTER)
    assert request is not None and request.method == "GET"
    captured: list[httpx2.Request] = []

    def handler(sdk_request: httpx2.Request) -> httpx2.Response:
        captured.append(sdk_request)
        return httpx2.Response(200, json=fixture("mailgun_events_empty.json"))

    filters = {
        "event": "accepted",
        "begin": str(int(SENT_AFTER.timestamp())),
        "ascending": "yes",
        "limit": "300",
        "user-variables": json.dumps({"receiptdesk_key": KEY}, separators=(",", ":")),
    }
    transport = httpx2.MockTransport(handler)
    async with MailgunAsyncClient(auth=("api", "k"), client_kwargs={"transport": transport}) as client:
        await client.events.get(domain="sandbox.demo-market.example", filters=filters)
    (theirs,) = captured
    assert urlsplit(request.url).path == theirs.url.path == "/v3/sandbox.demo-market.example/events"
    assert _query(request.url) == _query(str(theirs.url))
    assert json.loads(_query(request.url)["user-variables"][0]) == {"receiptdesk_key": KEY}


async def test_postmark_lookup_is_the_sdk_outbound_search(monkeypatch: pytest.MonkeyPatch) -> None:
    request = adapter("postmark").lookup_request(receipt(), sent_after=SENT_AFTER)
    assert request is not None and request.method == "GET"
    captured: list[tuple[str, dict[str, Any]]] = []

    async def fake_get(self: Any, path: str, params: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        captured.append((path, dict(params or {})))
        return httpx.Response(200, json=fixture("postmark_outbound_search_empty.json"))

    monkeypatch.setattr(ServerClient, "get", fake_get)
    async with ServerClient("token", retries=0) as client:
        await client.outbound.list(
            count=50, offset=0, metadata={"receiptdesk_key": KEY}, from_date=SENT_AFTER - timedelta(days=1)
        )
    ((path, params),) = captured
    assert urlsplit(request.url).path == path == "/messages/outbound"
    assert _query(request.url) == {name: [str(value)] for name, value in params.items()}


def test_mandrill_lookup_is_the_sdk_search(monkeypatch: pytest.MonkeyPatch) -> None:
    request = adapter("mandrill").lookup_request(receipt(), sent_after=SENT_AFTER)
    assert request is not None and request.method == "POST"
    captured: list[tuple[str, Any]] = []

    def fake_request(
        self: Any, method: str, url: str, body: Any = None, headers: Any = None, timeout: Any = None
    ) -> Any:
        captured.append((url, body))
        response = requests.Response()
        response.status_code = 200
        response.headers["content-type"] = "application/json"
        response._content = b"[]"
        return response

    monkeypatch.setattr(mailchimp_transactional.ApiClient, "request", fake_request)
    api_key = request.json["key"]
    body = {"query": f'u_receiptdesk_key:"{KEY}"', "date_from": "2026-12-03", "limit": 10}
    mailchimp_transactional.Client(api_key).messages.search(body)
    ((url, theirs),) = captured
    assert url.removeprefix("https://mandrillapp.com/api/1.3") == "/messages/search.json"
    assert urlsplit(request.url).path == "/api/1.0/messages/search.json"
    assert request.json == theirs


def test_sendgrid_lookup_is_the_sdk_messages_query() -> None:
    request = adapter("sendgrid").lookup_request(receipt(), sent_after=SENT_AFTER)
    assert request is not None and request.method == "GET"
    query = {"limit": "10", "query": f"unique_args['receiptdesk_key']=\"{KEY}\""}
    theirs = SendGridAPIClient("SG.key").client.messages._build_url(query)
    assert urlsplit(request.url).path == urlsplit(theirs).path == "/v3/messages"
    assert _query(request.url) == _query(theirs)


def test_sendgrid_lookup_escapes_quotes_in_the_reference() -> None:
    request = adapter("sendgrid").lookup_request(receipt('rd-"x"'), sent_after=SENT_AFTER)
    assert request is not None
    assert _query(request.url)["query"] == ['unique_args[\'receiptdesk_key\']="rd-\\"x\\""']


def test_gmail_lookup_is_the_discovery_documents_list_call() -> None:
    request = adapter("gmail").lookup_request(receipt(), sent_after=SENT_AFTER)
    assert request is not None and request.method == "GET"
    sender = sender_of("gmail")
    msgid = message_id(KEY, sender)
    doc = json.loads(GMAIL_DISCOVERY.read_text(encoding="utf-8"))
    service = build_from_document(doc, http=HttpMock(None, {"status": "200"}))
    theirs = (
        service.users()
        .messages()
        .list(userId=sender, q=f"rfc822msgid:{msgid.strip('<>')}", labelIds="SENT", maxResults=10)
    )
    assert urlsplit(request.url).path == urlsplit(theirs.uri).path
    assert _query(request.url) == {k: v for k, v in _query(theirs.uri).items() if k != "alt"}
    # The list call accepts the read-only scope the lookup's own token asks for.
    assert LOOKUP_SCOPE in doc["resources"]["users"]["resources"]["messages"]["methods"]["list"]["scopes"]


def test_graph_lookup_filters_sent_items_by_internet_message_id() -> None:
    request = adapter("msgraph").lookup_request(receipt(), sent_after=SENT_AFTER)
    assert request is not None and request.method == "GET"
    sender = sender_of("msgraph")
    assert urlsplit(request.url).path == f"/v1.0/users/{sender}/mailFolders/sentitems/messages"
    query = _query(request.url)
    assert query["$filter"] == [f"internetMessageId eq '{message_id(KEY, sender)}'"]
    assert query["$select"] == ["id,internetMessageId,sentDateTime"]


# --- parsing the answers -------------------------------------------------------------------------

FOUND: dict[str, tuple[str, str, str | None]] = {
    "mailgun": ("mailgun_events_accepted.json", "20261204215500.5a4db0c07e57@sandbox.demo-market.example", "accepted"),
    "postmark": ("postmark_outbound_search_found.json", "0ac29aee-e1cd-480d-b08d-4f48548ff48d", "Sent"),
    "mandrill": ("mandrill_search_found.json", "abc123abc123abc123abc123abc123ab", "sent"),
    "sendgrid": (
        "sendgrid_messages_found.json",
        "abc123abc123abc123abc1.filterdrecv-5645d9c87f-78xgx-1-5F5A3C1E-4.0",
        "delivered",
    ),
    "gmail": ("gmail_messages_list_found.json", "18c3a1f2b4d5e6f7", "SENT"),
    "msgraph": (
        "msgraph_sentitems_found.json",
        "AAMkAGVmMDEzMTM4LTZmYWUtNDdkNC1hMDZiLTU1OGY5OTZhYmY4OABGAAAAAAAiQ8W967B7TKBjgx9rVEURBwAiIsqMbYjsT5e-"
        "T7KzowPTAAAAAAEJAAAiIsqMbYjsT5e-T7KzowPTAAAYbvMZAAA=",
        "sentitems",
    ),
}
EMPTY = {
    "mailgun": "mailgun_events_empty.json",
    "postmark": "postmark_outbound_search_empty.json",
    "mandrill": "mandrill_search_empty.json",
    "sendgrid": "sendgrid_messages_empty.json",
    "gmail": "gmail_messages_list_empty.json",
    "msgraph": "msgraph_sentitems_empty.json",
}


@pytest.mark.parametrize("provider", ASKABLE)
def test_a_found_answer_is_found_with_the_providers_id(provider: str) -> None:
    name, provider_id, status = FOUND[provider]
    lookup = adapter(provider).parse_lookup(httpx.Response(200, json=fixture(name)), receipt())
    assert lookup == Lookup(found=True, provider_message_id=provider_id, raw_status=status)


@pytest.mark.parametrize("provider", ASKABLE)
def test_an_empty_answer_is_not_found(provider: str) -> None:
    lookup = adapter(provider).parse_lookup(httpx.Response(200, json=fixture(EMPTY[provider])), receipt())
    assert lookup.found is False and lookup.provider_message_id is None
    assert lookup.detail and KEY in lookup.detail


@pytest.mark.parametrize("provider", ["mailgun", "postmark", "mandrill"])
def test_an_answer_for_another_delivery_is_not_ours(provider: str) -> None:
    name = FOUND[provider][0]
    lookup = adapter(provider).parse_lookup(httpx.Response(200, json=fixture(name)), receipt("rd-someone-else"))
    assert lookup.found is False


@pytest.mark.parametrize("provider", ASKABLE)
@pytest.mark.parametrize("body", [b"<html>oops</html>", b'"just a string"', b"{}"])
def test_an_answer_of_another_shape_cannot_tell(provider: str, body: bytes) -> None:
    response = httpx.Response(200, content=body, headers={"Content-Type": "application/json"})
    if provider == "gmail" and body == b"{}":
        pytest.skip("an empty object is not Gmail's empty answer, which carries resultSizeEstimate")
    lookup = adapter(provider).parse_lookup(response, receipt())
    assert lookup.found is None and lookup.detail


def _replying(*responses: httpx.Response | Exception) -> tuple[httpx.AsyncClient, list[httpx.Request]]:
    """A client whose every request to an API gets the next of `responses`; token endpoints answer a token."""
    seen: list[httpx.Request] = []
    queue = list(responses)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            return httpx.Response(200, json={"access_token": "t", "token_type": "Bearer", "expires_in": 3599})
        seen.append(request)
        reply = queue.pop(0)
        if isinstance(reply, Exception):
            raise reply
        return reply

    return httpx.AsyncClient(transport=httpx.MockTransport(handler)), seen


@pytest.mark.parametrize("provider", ASKABLE)
async def test_an_error_answer_or_no_answer_cannot_tell(provider: str) -> None:
    http, _ = _replying(httpx.Response(500, json={}), httpx.ConnectError("refused"), httpx.ReadTimeout("slow"))
    async with http:
        subject = adapter(provider, http)
        for _ in range(3):
            lookup = await subject.look_up(receipt(), sent_after=SENT_AFTER)
            assert lookup is not None and lookup.found is None and lookup.detail


@pytest.mark.parametrize("status", [403, 404])
async def test_sendgrid_without_the_email_activity_add_on_cannot_be_asked_and_says_why(
    status: int, caplog: pytest.LogCaptureFixture
) -> None:
    http, seen = _replying(httpx.Response(status, json=fixture("sendgrid_messages_error_403.json")))
    async with http:
        lookup = await adapter("sendgrid", http).look_up(receipt(), sent_after=SENT_AFTER)
    assert lookup is None  # never askable on this account: the email in-doubt policy decides
    assert f"SendGrid refused a lookup ({status})" in caplog.text
    assert seen[0].headers["Authorization"].startswith("Bearer ")


async def test_gmail_looks_up_with_a_read_only_token_of_its_own() -> None:
    tokens: list[dict[str, str]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/token"):
            tokens.append(dict(parse_qsl(request.content.decode())))
            return httpx.Response(200, json={"access_token": f"t{len(tokens)}", "token_type": "Bearer"})
        assert request.headers["Authorization"] == "Bearer t1"
        return httpx.Response(200, json=fixture("gmail_messages_list_found.json"))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        gmail = adapter("gmail", http)
        assert isinstance(gmail, GmailAdapter)
        lookup = await gmail.look_up(receipt(), sent_after=SENT_AFTER)
        assert lookup is not None and lookup.found is True
        assert gmail.tokens.refreshes == 0  # the sending token was not asked for
    (grant,) = tokens
    claims = json.loads(base64.urlsafe_b64decode(grant["assertion"].split(".")[1] + "=="))
    assert claims["scope"] == LOOKUP_SCOPE


async def test_gmail_without_the_read_only_delegation_cannot_be_asked(caplog: pytest.LogCaptureFixture) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        assert request.url.path.endswith("/token"), "no API call without a token"
        return httpx.Response(400, json=fixture("gmail_token_error_unauthorized_client.json"))

    async with httpx.AsyncClient(transport=httpx.MockTransport(handler)) as http:
        lookup = await adapter("gmail", http).look_up(receipt(), sent_after=SENT_AFTER)
    assert lookup is None  # the grant lacks the reading scope: the email in-doubt policy decides
    assert "Gmail cannot be asked about sent messages" in caplog.text


# --- end to end, against the sandbox -------------------------------------------------------------


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=10.0) as client:
        yield client


@pytest.mark.parametrize("provider", ASKABLE)
async def test_what_was_sent_is_found_and_what_was_not_is_not(
    provider: str, sandbox: RunningServer, http: httpx.AsyncClient
) -> None:
    started = datetime.now(UTC) - timedelta(seconds=5)
    subject = adapter(provider, http, sandbox.url)
    result = await subject.send(receipt())
    await subject.send(receipt("rd-a-neighbour"))  # another delivery in the same mailbox

    found = await subject.look_up(receipt(), sent_after=started)
    assert found is not None and found.found is True, found
    assert found.provider_message_id
    if provider not in ("sendgrid", "msgraph"):  # SendGrid's activity id extends X-Message-Id; Graph gave none
        assert found.provider_message_id == result.provider_message_id
    elif provider == "sendgrid":
        assert result.provider_message_id and found.provider_message_id.startswith(result.provider_message_id)

    never = await subject.look_up(receipt("rd-never-sent"), sent_after=started)
    assert never is not None and never.found is False


@pytest.mark.parametrize("provider", ASKABLE)
async def test_a_sandbox_fault_on_the_lookup_cannot_tell(
    provider: str, sandbox: RunningServer, http: httpx.AsyncClient
) -> None:
    subject = adapter(provider, http, sandbox.url)
    await subject.send(receipt())
    faults = sandbox.app.state.faults  # type: ignore[attr-defined]
    faults.configure(error_rate=1.0, providers=[provider])
    try:
        lookup = await subject.look_up(receipt(), sent_after=datetime.now(UTC) - timedelta(minutes=1))
    finally:
        faults.clear()
    assert lookup is not None and lookup.found is None and lookup.detail
    again = await subject.look_up(receipt(), sent_after=datetime.now(UTC) - timedelta(minutes=1))
    assert again is not None and again.found is True


async def test_mailgun_lookup_honours_begin(sandbox: RunningServer, http: httpx.AsyncClient) -> None:
    subject = adapter("mailgun", http, sandbox.url)
    await subject.send(receipt())
    later = await subject.look_up(receipt(), sent_after=datetime.now(UTC) + timedelta(minutes=1))
    assert later is not None and later.found is False


async def test_the_official_sdks_read_the_sandbox_answers(sandbox: RunningServer, http: httpx.AsyncClient) -> None:
    for provider in ("postmark", "mailgun"):
        await adapter(provider, http, sandbox.url).send(receipt())
    postmark_token = stand_ins()["postmark"].account(sandbox.url, "Demo Market").secrets["server_token"]
    async with ServerClient(postmark_token, retries=0, base_url=sandbox.url) as client:
        page = await client.outbound.list(count=50, offset=0, metadata={"receiptdesk_key": KEY})
    assert [m.metadata for m in page.items] == [{"sale_id": "S-1001", "receiptdesk_key": KEY}]
    mailgun = stand_ins()["mailgun"].account(sandbox.url, "Demo Market")
    filters = {"event": "accepted", "user-variables": json.dumps({"receiptdesk_key": KEY}), "begin": "0"}
    async with MailgunAsyncClient(auth=("api", mailgun.secrets["api_key"]), api_url=sandbox.url) as client:
        response = await client.events.get(domain=mailgun.settings["domain"], filters=filters | {"ascending": "yes"})
    (event,) = response.json()["items"]
    assert event["user-variables"]["receiptdesk_key"] == KEY
