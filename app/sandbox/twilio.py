"""Twilio Programmable Messaging stand-in: `POST /2010-04-01/Accounts/{AccountSid}/Messages.json`.

Same path, Basic auth, form encoding, validation and Message resource as the real API
(PROVIDERS.md A1; twilio-oai CreateMessage), so a real adapter works against it unchanged.
`GET` on the same path reads the Messages list (ListMessage) from what was recorded, with Twilio's
filters (`To`, `From`, `DateSent`, `DateSent>`, `DateSent<` by GMT date), newest first, in pages
of `PageSize` chained by `next_page_uri` (docs/providers.md § Looking up a message).
"""

from __future__ import annotations

import base64
import hmac
import json
import re
import secrets
import time
from datetime import UTC, date, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import unquote_plus, urlencode

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from app.sandbox import credentials
from app.sandbox.callbacks import CallbackSender
from app.sandbox.faults import Faults
from app.sandbox.outcomes import Fate, outcome_of
from app.sandbox.stand_ins import SandboxAccount, api_account
from app.sandbox.store import MessageRecord, MessageStore

PROVIDER_ID = "twilio"
API_VERSION = "2010-04-01"
MAX_BODY_CHARS = 1600
IDEMPOTENCY_FIELD = "receiptdesk_key"
"""Optional form field recorded as the idempotency key (Twilio has none; real Twilio ignores it)."""

# GSM 03.38 basic table and the extension table (extension chars cost two septets).
GSM7_BASIC = (
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENDED = "\f^{}\\[~]|€"
_NOT_GSM7 = re.compile("[^" + re.escape(GSM7_BASIC + GSM7_EXTENDED) + "]")
_E164 = re.compile(r"\+[1-9][0-9]{1,14}")
_SHORT_CODE = re.compile(r"[0-9]{3,8}")
_ALPHA_SENDER = re.compile(r"(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11}")
_MESSAGING_SERVICE = re.compile(r"MG[0-9a-fA-F]{32}")
_CHANNELS = ("whatsapp:", "messenger:", "rcs:")
_FORM = "application/x-www-form-urlencoded"
FATES: dict[Fate, tuple[str, int | None, str | None]] = {
    # A message's status with its error code (twilio.com/docs/api/errors: 30003 unreachable handset,
    # 30008 unknown error), for a fate a test set.
    Fate.DELIVERED: ("delivered", None, None),
    Fate.BOUNCED: ("undelivered", 30003, "Unreachable destination handset"),
    Fate.FAILED: ("failed", 30008, "Unknown error"),
}
DEFAULT_PAGE_SIZE = 50  # ListMessage PageSize: default 50, 1 to 1000 (twilio-oai)
MAX_PAGE_SIZE = 1000


def sms_segments(body: str) -> int:
    """Segments Twilio bills for `body` (GSM-7: 160/153 septets; UCS-2: 70/67 code units).

    Extension characters and surrogate pairs are never split across segments.
    """
    if _NOT_GSM7.search(body) is None:
        extended, single, multi = GSM7_EXTENDED, 160, 153
        size = len(body) + sum(body.count(char) for char in extended)
    else:
        extended, single, multi = "", 70, 67
        size = len(body.encode("utf-16-le")) // 2
    if size <= single:
        return 1
    segments, used = 1, 0
    for char in body:
        cost = 2 if char in extended or ord(char) > 0xFFFF else 1
        if used + cost > multi:
            segments, used = segments + 1, 0
        used += cost
    return segments


def parse_form(raw: bytes) -> tuple[dict[str, str], list[str]]:
    """Decode an `application/x-www-form-urlencoded` body: (last value per key, every MediaUrl).

    A lean `urllib.parse.parse_qsl` (same decoding, keeps blank values); raises UnicodeDecodeError.
    """
    form: dict[str, str] = {}
    media_urls: list[str] = []
    for field in raw.decode("utf-8").split("&"):
        if not field:
            continue
        key, _, value = field.partition("=")
        if "+" in key or "%" in key:
            key = unquote_plus(key)
        if "+" in value or "%" in value:
            value = unquote_plus(value)
        if key == "MediaUrl":
            media_urls.append(value)
        else:
            form[key] = value
    return form, media_urls


_date_cache: tuple[int, str] = (0, "")


def _rfc2822_now() -> str:
    """The current time as Twilio writes it ("Sat, 28 Nov 2026 05:58:53 +0000"), cached per second."""
    global _date_cache
    second = int(time.time())
    if _date_cache[0] != second:
        _date_cache = (second, format_datetime(datetime.fromtimestamp(second, UTC)))
    return _date_cache[1]


def twilio_error(status: int, code: int, message: str, headers: dict[str, str] | None = None) -> Response:
    """A Twilio error response: JSON `{code, message, more_info, status}`."""
    payload = {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return Response(json.dumps(payload), status, headers, media_type="application/json")


def _valid_address(value: str, *, sender: bool) -> bool:
    for channel in _CHANNELS:
        if value.startswith(channel):
            return bool(value[len(channel) :])
    if _E164.fullmatch(value):
        return True
    return sender and bool(_SHORT_CODE.fullmatch(value) or _ALPHA_SENDER.fullmatch(value))


def _channel(address: str) -> str:
    head, sep, _ = address.partition(":")
    return head if sep else "sms"


def validate(form: dict[str, str], media_urls: list[str]) -> Response | None:
    """The 400 Twilio would answer for this CreateMessage form, or None when it is valid."""
    to = form.get("To", "")
    sender = form.get("From", "")
    service = form.get("MessagingServiceSid", "")
    body = form.get("Body", "")
    if not to:
        return twilio_error(400, 21604, "A 'To' phone number is required.")
    if not _valid_address(to, sender=False):
        return twilio_error(400, 21211, f"Invalid 'To' Phone Number: {to}")
    if not sender and not service:
        return twilio_error(400, 21603, "A 'From' phone number is required.")
    if sender and not _valid_address(sender, sender=True):
        return twilio_error(400, 21212, f"Invalid 'From' Phone Number: {sender}")
    if sender and _channel(sender) != _channel(to):
        return twilio_error(400, 21910, "Invalid From and To pair. From and To should be of the same channel")
    if service and not _MESSAGING_SERVICE.fullmatch(service):
        return twilio_error(400, 21701, f"The Messaging Service Sid {service} is invalid.")
    if not body and not media_urls and not form.get("ContentSid"):
        return twilio_error(400, 21602, "Message body is required.")
    if len(body) > MAX_BODY_CHARS:
        return twilio_error(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
    if any(not url.startswith(("http://", "https://")) for url in media_urls):
        return twilio_error(400, 21620, "Invalid media URL(s).")
    callback = form.get("StatusCallback")
    if callback is not None and not callback.startswith(("http://", "https://")):
        return twilio_error(400, 21609, f"Invalid StatusCallback url: {callback}")
    return None


def message_resource(account_sid: str, sid: str, form: dict[str, str], media_urls: list[str]) -> dict[str, Any]:
    """The Message resource returned with 201 (field set of twilio-oai `api.v2010.account.message`)."""
    now = _rfc2822_now()
    service = form.get("MessagingServiceSid") or None
    body = form.get("Body", "")
    uri = f"/{API_VERSION}/Accounts/{account_sid}/Messages/{sid}"
    return {
        "account_sid": account_sid,
        "api_version": API_VERSION,
        "body": body,
        "date_created": now,
        "date_sent": None,
        "date_updated": now,
        "direction": "outbound-api",
        "error_code": None,
        "error_message": None,
        "from": form.get("From") or None,
        "messaging_service_sid": service,
        "num_media": str(len(media_urls)),
        # With a Messaging Service the sender (hence encoding) is picked later: 0 at creation.
        "num_segments": "0" if service else str(sms_segments(body)),
        "price": None,
        "price_unit": "USD",
        "sid": sid,
        "status": "accepted" if service else "queued",
        "subresource_uris": {"media": f"{uri}/Media.json"},
        "to": form["To"],
        "uri": f"{uri}.json",
    }


class TwilioApi:
    """The Messages endpoint, bound to a store, a fault set and the accepted credentials."""

    def __init__(
        self,
        store: MessageStore,
        faults: Faults,
        account_sid: str = credentials.TWILIO_ACCOUNT_SID,
        auth_token: str = credentials.TWILIO_AUTH_TOKEN,
        callbacks: CallbackSender | None = None,
    ) -> None:
        self.store = store
        self.faults = faults
        self.callbacks = callbacks
        self.account_sid = account_sid
        self._basic = base64.b64encode(f"{account_sid}:{auth_token}".encode())
        self._sid = account_sid.encode("ascii")

    def _authorized(self, request: Request) -> bool:
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        path_sid = request.path_params.get("account_sid", "")
        good_token = hmac.compare_digest(token.strip().encode("utf-8", "replace"), self._basic)
        good_sid = hmac.compare_digest(path_sid.encode("utf-8", "replace"), self._sid)
        return scheme.lower() == "basic" and good_token and good_sid

    async def fetch_account(self, request: Request) -> Response:
        """`GET /2010-04-01/Accounts/{AccountSid}.json` (FetchAccount): the account, for its own Auth Token only."""
        if not self._authorized(request):
            return twilio_error(401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'})
        now = _rfc2822_now()
        uri = f"/{API_VERSION}/Accounts/{self.account_sid}.json"
        account = {
            "date_created": now,
            "date_updated": now,
            "friendly_name": "ReceiptDesk sandbox",
            "owner_account_sid": self.account_sid,
            "sid": self.account_sid,
            "status": "active",
            "type": "Full",
            "uri": uri,
        }
        return Response(json.dumps(account), 200, media_type="application/json")

    async def create_message(self, request: Request) -> Response:
        """`POST /2010-04-01/Accounts/{AccountSid}/Messages.json` (CreateMessage)."""
        if not self._authorized(request):
            return twilio_error(401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'})
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            return twilio_error(fault.status, 20000 + fault.status, fault.phrase, headers)
        form: dict[str, str] = {}
        media_urls: list[str] = []
        # Twilio reads form fields only: a JSON body looks like a request without parameters.
        if request.headers.get("content-type", "").startswith(_FORM):
            try:
                form, media_urls = parse_form(await request.body())
            except UnicodeDecodeError:
                return twilio_error(400, 20001, "Request body is not valid UTF-8.")
        problem = validate(form, media_urls)
        if problem is not None:
            return problem
        sid = ("MM" if media_urls else "SM") + secrets.token_hex(16)
        resource = message_resource(self.account_sid, sid, form, media_urls)
        self.store.add(
            MessageRecord(
                provider=PROVIDER_ID,
                id=sid,
                to=(form["To"],),
                from_=form.get("From") or form.get("MessagingServiceSid"),
                body=form.get("Body", ""),
                media_urls=tuple(media_urls),
                # What the Messages list reads back (GET on this path).
                custom_args={"from": form.get("From"), "messaging_service_sid": form.get("MessagingServiceSid")},
                idempotency_key=form.get(IDEMPOTENCY_FIELD),
            )
        )
        if self.callbacks is not None:
            self.callbacks.twilio_message(sid, form)
        return Response(json.dumps(resource), 201, media_type="application/json")

    async def list_messages(self, request: Request) -> Response:
        """`GET /2010-04-01/Accounts/{AccountSid}/Messages.json` (ListMessage): the recorded messages.

        Filters as Twilio's: `To` and `From` exactly, `DateSent` (`YYYY-MM-DD`, GMT) on that date,
        `DateSent>` on or after it, `DateSent<` on or before it; newest first; `PageSize` (1-1000,
        default 50) a page, the next one at `next_page_uri` (`Page` and `PageToken`, as Twilio's).
        The sandbox hands a message on at once, so its `date_sent` is its `date_created` and its
        status `sent`. Faults apply as to a send.
        """
        if not self._authorized(request):
            return twilio_error(401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'})
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            return twilio_error(fault.status, 20000 + fault.status, fault.phrase, headers)
        params = request.query_params
        try:
            size = int(params.get("PageSize", DEFAULT_PAGE_SIZE))
            page = int(params.get("Page", 0))
            on, after, before = (_gmt_date(params.get(name)) for name in ("DateSent", "DateSent>", "DateSent<"))
        except ValueError:
            return twilio_error(400, 20001, "Invalid paging or DateSent parameter")
        if not 1 <= size <= MAX_PAGE_SIZE or page < 0:
            return twilio_error(400, 20001, f"PageSize must be between 1 and {MAX_PAGE_SIZE}")
        to, sender = params.get("To"), params.get("From")
        found: list[MessageRecord] = []
        for record in self.store.messages(PROVIDER_ID):
            day = record.received_at.astimezone(UTC).date()
            if to is not None and record.to != (to,):
                continue
            if sender is not None and record.custom_args.get("from") != sender:
                continue
            if (on and day != on) or (after and day < after) or (before and day > before):
                continue
            found.append(record)
        found.reverse()  # newest first, as Twilio sorts by DateSent
        start = page * size
        chunk = found[start : start + size]
        base = f"/{API_VERSION}/Accounts/{self.account_sid}/Messages.json"
        kept = [(k, v) for k, v in params.multi_items() if k not in ("Page", "PageToken", "PageSize")]

        def uri(number: int) -> str:
            query = [*kept, ("PageSize", str(size)), ("Page", str(number))]
            if number:
                query.append(("PageToken", f"PASM{secrets.token_hex(16)}"))
            return f"{base}?{urlencode(query)}"

        body = {
            "end": start + len(chunk) - 1 if chunk else 0,
            "first_page_uri": uri(0),
            "next_page_uri": uri(page + 1) if start + size < len(found) else None,
            "page": page,
            "page_size": size,
            "previous_page_uri": uri(page - 1) if page else None,
            "start": start,
            "uri": uri(page),
            "messages": [self._listed(record) for record in chunk],
        }
        return Response(json.dumps(body), 200, media_type="application/json")

    async def fetch_message(self, request: Request) -> Response:
        """`GET /2010-04-01/Accounts/{AccountSid}/Messages/{Sid}.json` (FetchMessage): one recorded message.

        Its status is `sent` until a test sets its fate (`app.sandbox.outcomes`): `delivered`,
        `undelivered` (error 30003) for a bounce, `failed` (error 30008). An unknown Sid is Twilio's
        404 (error 20404). Faults apply as to a send.
        """
        if not self._authorized(request):
            return twilio_error(401, 20003, "Authenticate", {"WWW-Authenticate": 'Basic realm="Twilio API"'})
        fault = await self.faults.inject(PROVIDER_ID)
        if fault is not None:
            headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
            return twilio_error(fault.status, 20000 + fault.status, fault.phrase, headers)
        sid = request.path_params["sid"]
        record = next((r for r in self.store.messages(PROVIDER_ID) if r.id == sid), None)
        if record is None:
            return twilio_error(404, 20404, f"The requested resource /{API_VERSION}/Messages/{sid}.json was not found")
        resource = self._listed(record)
        outcome = outcome_of(self.store, PROVIDER_ID, sid)
        if outcome is not None:
            status, code, text = FATES[outcome.fate]
            resource.update(status=status, error_code=code, error_message=outcome.reason or text)
            if outcome.at is not None:
                resource["date_updated"] = format_datetime(outcome.at.astimezone(UTC).replace(microsecond=0))
        return Response(json.dumps(resource), 200, media_type="application/json")

    def _listed(self, record: MessageRecord) -> dict[str, Any]:
        """A recorded message as the Messages list shows it."""
        form = {"To": record.to[0] if record.to else "", "Body": record.body or ""}
        if record.custom_args.get("from"):
            form["From"] = record.custom_args["from"]
        if record.custom_args.get("messaging_service_sid"):
            form["MessagingServiceSid"] = record.custom_args["messaging_service_sid"]
        resource = message_resource(self.account_sid, record.id, form, list(record.media_urls))
        created = format_datetime(record.received_at.astimezone(UTC).replace(microsecond=0))
        resource.update(date_created=created, date_sent=created, date_updated=created, status="sent")
        resource["num_segments"] = str(sms_segments(record.body or ""))
        return resource


def _gmt_date(value: str | None) -> date | None:
    """A `DateSent` value: `YYYY-MM-DD`, or a date-time whose GMT date counts; ValueError otherwise."""
    if not value:
        return None
    if len(value) == 10:
        return date.fromisoformat(value)
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC).date()


def routes(store: MessageStore, faults: Faults, *, callbacks: CallbackSender | None = None) -> list[Route]:
    """The Messages endpoint, which also answers Twilio WhatsApp; status callbacks go through `callbacks`.

    Fetch an Account (`GET .../Accounts/{AccountSid}.json`) answers a credential check; `GET` on
    the Messages path reads the Messages list, and on `.../Messages/{Sid}.json` one message's status.
    """
    api = TwilioApi(store, faults, callbacks=callbacks)
    return [
        Route(f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json", api.create_message, methods=["POST"]),
        Route(f"/{API_VERSION}/Accounts/{{account_sid}}/Messages.json", api.list_messages, methods=["GET"]),
        Route(f"/{API_VERSION}/Accounts/{{account_sid}}.json", api.fetch_account, methods=["GET"]),
        Route(f"/{API_VERSION}/Accounts/{{account_sid}}/Messages/{{sid}}.json", api.fetch_message, methods=["GET"]),
    ]


def account(sandbox_url: str, store_name: str) -> SandboxAccount:
    """The Twilio adapter's settings and secrets for a sandbox on `sandbox_url`."""
    settings = {"account_sid": credentials.TWILIO_ACCOUNT_SID, "from_number": credentials.TWILIO_FROM}
    return api_account(sandbox_url, settings, {"auth_token": credentials.TWILIO_AUTH_TOKEN})
