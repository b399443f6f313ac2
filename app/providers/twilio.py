"""Twilio Programmable Messaging (SMS/MMS): one `OutboundMessage` → one `POST .../Messages.json`.

Public documentation: https://www.twilio.com/docs/messaging/api/message-resource

See docs/providers.md § A1. The payload builder and the response parser are pure; sending,
error translation and `repr` are `HttpAdapter`'s.
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

import httpx

from app.domain.channels import Channel
from app.domain.doubt import Lookup
from app.domain.errors import ConfigurationError, PermanentProviderError, TransientProviderError, UnsupportedFeature
from app.domain.message import OutboundMessage, SendResult, SendStatus
from app.domain.plugins import SecretField, SettingField
from app.domain.tracking import EventKind, StatusAnswer
from app.providers.base import Capabilities, HttpAdapter, HttpRequest, classify_status, translate_http_errors
from app.providers.twilio_callbacks import STATUS_EVENTS

# Form-encoded with PascalCase keys, not JSON (twilio-oai CreateMessage).
FORM_HEADERS: Mapping[str, str] = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}

# Message `status` at creation → our send status (enum: twilio-python MessageInstance.Status).
STATUS_MAP: Mapping[str, SendStatus] = {
    "queued": SendStatus.ACCEPTED,
    "accepted": SendStatus.ACCEPTED,  # initial status with a Messaging Service (PROVIDERS.md § A1)
    "scheduled": SendStatus.ACCEPTED,
    "sending": SendStatus.ACCEPTED,
    "sent": SendStatus.ACCEPTED,
    "delivered": SendStatus.DELIVERED,
    "read": SendStatus.DELIVERED,  # WhatsApp/RCS read receipt implies delivery
    "failed": SendStatus.REJECTED,
    "undelivered": SendStatus.REJECTED,
    "canceled": SendStatus.REJECTED,
}

# A message found in one of these states was taken by Twilio, then not handed on: it still counts as
# taken (sending it again is a new message, not a retry), and the lookup says so.
NOT_HANDED_ON = frozenset({"failed", "undelivered", "canceled"})

LOOKUP_PAGE_SIZE = 100
"""Messages per page of the lookup (`PageSize`: default 50, at most 1000, twilio-oai ListMessage)."""
LOOKUP_MAX_PAGES = 5
"""Pages the lookup reads before it says it cannot tell (`found=None`)."""
CLOCK_SKEW = timedelta(minutes=5)
"""How far Twilio's `date_created` may fall before our `sent_after` and still be this attempt's:
our clock and Twilio's differ. A wider window only risks matching an earlier identical text."""


class TwilioAdapter(HttpAdapter):
    """Sends SMS/MMS through Twilio's Messages resource (API version 2010-04-01).

    Credentials are HTTP Basic (Account SID : Auth Token). A sender is either a Twilio number
    (`from_number`) or a Messaging Service (`messaging_service_sid`); at least one is required.
    Twilio has no idempotency key for Messages, so retries rely on our own dedupe.
    """

    provider_id: ClassVar[str] = "twilio"
    display_name: ClassVar[str] = "Twilio"
    default_base_url: ClassVar[str] = "https://api.twilio.com"
    capabilities: ClassVar[Capabilities] = Capabilities(
        channel=Channel.SMS,
        max_body_chars=1600,  # Body limit: https://www.twilio.com/docs/glossary/what-sms-character-limit
        supports_attachments=False,  # MMS needs public URLs (provider_extra["media_urls"]), not bytes
        supports_templates=False,
        supports_idempotency_key=False,  # no idempotency parameter on CreateMessage (twilio-oai spec)
        rate_per_sec=50.0,  # limit is account concurrency, unpublished; Twilio queues per sender
        delivery_receipts=True,  # StatusCallback, PROVIDERS.md § B10
    )
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("auth_token", "Auth token"),)
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("account_sid", "Account SID"),
        SettingField("from_number", "Sender number (E.164)", required=False),
        SettingField("messaging_service_sid", "Messaging Service SID", required=False),
        SettingField("status_callback", "Status callback URL", required=False),
        SettingField("base_url", "API base URL", required=False),
    )

    shown: ClassVar[tuple[str, ...]] = ("account_sid", "base_url")
    callback_url_setting: ClassVar[str | None] = "status_callback"
    credential_check_doc: ClassVar[str | None] = "https://www.twilio.com/docs/iam/api/account#fetch-an-account-resource"
    lookup_doc: ClassVar[str | None] = (
        "https://www.twilio.com/docs/messaging/api/message-resource#read-multiple-message-resources"
    )
    status_doc: ClassVar[str | None] = (
        "https://www.twilio.com/docs/messaging/api/message-resource#fetch-a-message-resource"
    )
    lookup_page_size: int = LOOKUP_PAGE_SIZE
    lookup_max_pages: int = LOOKUP_MAX_PAGES

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        account_sid: str,
        auth_token: str,
        from_number: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback: str | None = None,
        base_url: str | None = None,
    ) -> None:
        if not from_number and not messaging_service_sid:
            raise ConfigurationError(
                f"{self.display_name}: missing from_number or messaging_service_sid. "
                "Set one of them in the settings file."
            )
        super().__init__(http, base_url=base_url)
        self._account_sid = account_sid
        self._auth = httpx.BasicAuth(account_sid, auth_token)
        self._from_number = from_number or None
        self._messaging_service_sid = messaging_service_sid or None
        self._status_callback = status_callback or None

    def build_request(self, message: OutboundMessage) -> tuple[str, list[tuple[str, str]]]:
        """The path and the form fields (in order, repeated keys allowed) for one message."""
        self.check_channel(message)
        body = message.sms_body or message.text
        media_urls = [str(u) for u in message.provider_extra.get("media_urls") or ()]
        if message.attachments and not media_urls:
            raise UnsupportedFeature(
                f"{self.display_name} cannot upload attachments; give public URLs in provider_extra['media_urls']."
            )
        if not body and not media_urls:
            raise PermanentProviderError(f"{self.display_name}: the message has no SMS body and no media.")
        max_chars = self.capabilities.max_body_chars
        if body and max_chars is not None and len(body) > max_chars:
            raise UnsupportedFeature(f"{self.display_name} takes at most {max_chars} characters; got {len(body)}.")

        form: list[tuple[str, str]] = [("To", message.to)]
        if self._from_number:
            form.append(("From", self._from_number))
        if self._messaging_service_sid:
            form.append(("MessagingServiceSid", self._messaging_service_sid))
        if body:
            form.append(("Body", body))
        # MediaUrl repeats once per URL (twilio-python MessageList.create, media_url: List[str]).
        form.extend(("MediaUrl", url) for url in media_urls)
        if self._status_callback:
            form.append(("StatusCallback", self._status_callback))
        path = f"/2010-04-01/Accounts/{quote(self._account_sid, safe='')}/Messages.json"
        return path, form

    def request(self, message: OutboundMessage) -> HttpRequest:
        path, form = self.build_request(message)
        content = urlencode(form).encode("ascii")
        return HttpRequest(self._base_url + path, content=content, headers=FORM_HEADERS, auth=self._auth)

    def credential_request(self) -> HttpRequest | None:
        """Fetch an Account (`GET /2010-04-01/Accounts/{AccountSid}.json`): answered only for the right Auth Token."""
        path = f"/2010-04-01/Accounts/{quote(self._account_sid, safe='')}.json"
        return HttpRequest(self._base_url + path, method="GET", headers={"Accept": "application/json"}, auth=self._auth)

    # --- looking up a message (docs/providers.md § Looking up a message) --------------------------

    def lookup_request(self, message: OutboundMessage, *, sent_after: datetime) -> HttpRequest | None:
        """Read the Messages list (ListMessage, `GET .../Messages.json`) filtered as the message was sent.

        Twilio keeps no reference of ours on a Message (no metadata, no idempotency key: twilio-oai
        CreateMessage), so the filters are the message's own `To` and `From` and `DateSent>=` the
        GMT date of `sent_after` (the filter takes a date, not a time:
        https://www.twilio.com/docs/messaging/api/message-resource#read-multiple-message-resources);
        the time and the body are compared on our side (`parse_lookup`). With a Messaging Service
        and no number there is no `From` to filter by: the list has no Messaging Service filter, and
        the service's SID is compared on our side.
        """
        _, form = self.build_request(message)
        sent = dict(form)
        query: list[tuple[str, str]] = [("To", sent["To"])]
        if "From" in sent:
            query.append(("From", sent["From"]))
        # `DateSent>` = value is what the SDK (MessageList.page, date_sent_after) and the spec's own
        # example (`DateSent%3E=2008-01-02`) put on the wire: the docs' `DateSent>=YYYY-MM-DD`.
        query.append(("DateSent>", sent_after.astimezone(UTC).date().isoformat()))
        query.append(("PageSize", str(self.lookup_page_size)))
        path = f"/2010-04-01/Accounts/{quote(self._account_sid, safe='')}/Messages.json"
        return HttpRequest(
            f"{self._base_url}{path}?{urlencode(query)}",
            method="GET",
            headers={"Accept": "application/json"},
            auth=self._auth,
        )

    def parse_lookup(
        self, response: httpx.Response, message: OutboundMessage, *, sent_after: datetime | None = None
    ) -> Lookup:
        """Whether one page of the Messages list holds `message` (on or after `sent_after`, when given).

        A page without it whose list goes on (`next_page_uri`) cannot tell: `found=None`.
        """
        found, next_uri = self.scan_page(_json_object(response), message, sent_after)
        if found is not None or next_uri is None:
            return found or Lookup(found=False, detail=f"{self.display_name} has no such message")
        return Lookup(found=None, detail=f"{self.display_name}: not on the first page of the list")

    def scan_page(
        self, payload: Mapping[str, Any], message: OutboundMessage, sent_after: datetime | None
    ) -> tuple[Lookup | None, str | None]:
        """(the answer this page gives, or None when it is not on it; the next page's URI, if any).

        A Message is this one when it went out (`direction` outbound-*) from our sender to the same
        `To`, was created on or after `sent_after` (less `CLOCK_SKEW`) and carries the same `Body`:
        every attempt of one delivery sends the same text. A template (`ContentSid`) or media-only
        message has no text of ours to compare: any outbound message in the window makes the answer
        `found=None`, none makes it `found=False`.
        """
        _, form = self.build_request(message)
        sent = dict(form)
        body = sent.get("Body")
        messages = payload.get("messages")
        if not isinstance(messages, list):
            return Lookup(found=None, detail=f"{self.display_name} answered the lookup without a message list"), None
        since = sent_after - CLOCK_SKEW if sent_after is not None else None
        candidates: list[dict[str, Any]] = []
        for item in messages:
            if not isinstance(item, dict) or not str(item.get("direction") or "").startswith("outbound"):
                continue
            if item.get("to") != sent["To"]:
                continue
            if "From" in sent and item.get("from") != sent["From"]:
                continue
            if "From" not in sent and item.get("messaging_service_sid") != sent.get("MessagingServiceSid"):
                continue
            created = _rfc2822(item.get("date_created"))
            if since is not None and created is not None and created < since:
                continue
            candidates.append(item)
        next_uri = payload.get("next_page_uri") or None
        # Only a path on Twilio's own host is followed, so the credentials go nowhere else.
        elsewhere = next_uri is not None and not (isinstance(next_uri, str) and next_uri.startswith("/"))
        if elsewhere:
            next_uri = None
        cannot_tell = Lookup(found=None, detail=f"{self.display_name}: the next page of the list is not on its host")
        if body is None:
            if candidates:
                detail = (
                    f"{self.display_name} holds {len(candidates)} message(s) to this number in the window, "
                    "but a template or media message has no text of ours to compare"
                )
                return Lookup(found=None, detail=detail), None
            return (cannot_tell if elsewhere else None), next_uri
        matches = [item for item in candidates if item.get("body") == body]
        if not matches:
            return (cannot_tell if elsewhere else None), next_uri
        first = matches[0]  # the list is newest first
        sid, status = first.get("sid"), first.get("status")
        raw_status = status if isinstance(status, str) else None
        detail = f"{self.display_name} took it"
        if raw_status in NOT_HANDED_ON:
            code = first.get("error_code")
            detail += f", then it was {raw_status}" + (f" (Twilio error {code})" if code else "")
        if len(matches) > 1:
            detail += f"; {len(matches)} messages with this text (a duplicate was sent)"
        return Lookup(True, sid if isinstance(sid, str) else None, raw_status, detail), None

    async def look_up(self, message: OutboundMessage, *, sent_after: datetime) -> Lookup | None:
        """Read the Messages list page by page (`next_page_uri`), at most `lookup_max_pages`.

        Not found on every page of a list that ends: `found=False`. The bound reached without it, an
        error answer or Twilio out of reach: `found=None` (the attempt stays in doubt).
        """
        request = self.lookup_request(message, sent_after=sent_after)
        if request is None:
            return None
        for _ in range(self.lookup_max_pages):
            try:
                with translate_http_errors(self.display_name):
                    response = await self.transmit(request)
            except TransientProviderError as exc:
                return Lookup(found=None, detail=exc.message)
            if not response.is_success:
                return Lookup(found=None, detail=f"{self.display_name} answered {response.status_code} to the lookup")
            found, next_uri = self.scan_page(_json_object(response), message, sent_after)
            if found is not None:
                return found
            if next_uri is None:
                return Lookup(found=False, detail=f"{self.display_name} has no such message")
            request = HttpRequest(self._base_url + next_uri, method="GET", headers=request.headers, auth=self._auth)
        pages = self.lookup_max_pages
        return Lookup(found=None, detail=f"{self.display_name}: not in the first {pages} pages of the list")

    # --- asking for a message's status (docs/providers.md § Asking for a status) -----------------

    def status_request(self, provider_message_id: str, *, reference: str | None = None) -> HttpRequest | None:
        """Fetch the Message (`GET /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json`, FetchMessage):
        https://www.twilio.com/docs/messaging/api/message-resource#fetch-a-message-resource"""
        account, sid = quote(self._account_sid, safe=""), quote(provider_message_id, safe="")
        path = f"/2010-04-01/Accounts/{account}/Messages/{sid}.json"
        return HttpRequest(self._base_url + path, method="GET", headers={"Accept": "application/json"}, auth=self._auth)

    def parse_status(self, response: httpx.Response, provider_message_id: str) -> StatusAnswer:
        """The Message's `status` read as its status callback would be (`delivered`, `undelivered`,
        `failed`...); `error_code` and `error_message` say why one was not delivered."""
        payload = _json_object(response)
        status = payload.get("status")
        if not isinstance(status, str) or not status:
            raise ValueError("no status on the Message")
        code, text = payload.get("error_code"), payload.get("error_message")
        detail = text if isinstance(text, str) and text else None
        if code is not None:
            detail = f"{detail or status} (Twilio error {code})"
        return StatusAnswer(
            STATUS_EVENTS.get(status, EventKind.UNKNOWN),
            status,
            detail,
            occurred_at=_rfc2822(payload.get("date_updated")),
            raw=response.text[:4000],
        )

    def parse_response(self, response: httpx.Response) -> SendResult:
        """A `SendResult` for a 2xx answer; raises the classified error for any other."""
        if not response.is_success:
            raise self._error(response)
        payload = _json_object(response)
        raw = payload.get("status")
        raw_status = raw if isinstance(raw, str) else None
        sid = payload.get("sid")
        detail = payload.get("error_message")
        return SendResult(
            provider_message_id=sid if isinstance(sid, str) else None,
            status=STATUS_MAP.get(raw_status or "", SendStatus.UNKNOWN),
            raw_status=raw_status,
            detail=detail if isinstance(detail, str) else None,
        )

    def _error(self, response: httpx.Response) -> Exception:
        # Error body is {code, message, more_info, status} (PROVIDERS.md § A1; 20429 = too many requests).
        payload = _json_object(response)
        code = payload.get("code")
        text = payload.get("message")
        detail = text if isinstance(text, str) and text else (response.reason_phrase or "error")
        if code is not None:
            detail = f"{detail} (Twilio error {code})"
        return classify_status(self.display_name, response, detail, code=str(code) if code is not None else None)


def _rfc2822(value: Any) -> datetime | None:
    """A Message's RFC 2822 timestamp ("Fri, 24 May 2019 17:44:46 +0000") as an aware datetime, or None."""
    if not isinstance(value, str) or not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The body as a JSON object, or {} when it is empty, not JSON or not an object."""
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
