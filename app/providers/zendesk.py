"""Zendesk ticket: one `OutboundMessage` → one `POST /api/v2/tickets` with an `Idempotency-Key`.

Public documentation: https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/

See docs/providers.md § A14 and developer.zendesk.com/api-reference/ticketing/introduction/
#idempotency. The receipt is filed as an internal note on a ticket whose requester is the
customer, for support to find. The payload builder and the response parser are pure; sending,
error translation and `repr` are `HttpAdapter`'s.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar
from urllib.parse import urlencode

import httpx

from app.domain.channels import Channel
from app.domain.doubt import Lookup
from app.domain.errors import ConfigurationError, PermanentProviderError, TransientProviderError, UnsupportedFeature
from app.domain.message import OutboundMessage, SendResult, SendStatus
from app.domain.plugins import SecretField, SettingField
from app.providers.base import Capabilities, HttpAdapter, HttpRequest, classify_status, require

PATH = "/api/v2/tickets"
TAG = "receiptdesk"
LOOKUP_HEADER = "x-idempotency-lookup"  # "miss" on first use, "hit" on a replay of the same request
IDEMPOTENCY_ERROR = "IdempotentRequestError"  # same key, different body: 400
_SUBDOMAIN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?")

STATUS_MAP: Mapping[int, SendStatus] = {201: SendStatus.ACCEPTED}  # 201 Created with {ticket, audit}


class ZendeskAdapter(HttpAdapter):
    """Files one receipt as a Zendesk ticket (internal note, requester = customer, tag receiptdesk).

    Auth is an API token: HTTP Basic `{email}/token:{api_token}`. Our idempotency key goes in the
    `Idempotency-Key` header, so a retried create returns the first ticket instead of a second one
    (keys are kept about 2 hours; a replay answers with `x-idempotency-lookup: hit`), and in the
    ticket's `external_id`, which Zendesk keeps for good: the lookup lists tickets by it.
    """

    provider_id: ClassVar[str] = "zendesk"
    display_name: ClassVar[str] = "Zendesk"
    default_base_url: ClassVar[str] = "https://{subdomain}.zendesk.com"
    capabilities: ClassVar[Capabilities] = Capabilities(
        channel=Channel.CRM,
        max_body_chars=None,
        supports_attachments=False,  # needs an upload token first; not done here
        supports_templates=False,
        supports_idempotency_key=True,
        rate_per_sec=3.0,  # plan-based, from 200 requests/min (§ A14, [S])
        delivery_receipts=False,
    )
    secret_fields: ClassVar[tuple[SecretField, ...]] = (SecretField("api_token", "API token"),)
    setting_fields: ClassVar[tuple[SettingField, ...]] = (
        SettingField("subdomain", "Subdomain (the `acme` of acme.zendesk.com)"),
        SettingField("email", "Agent e-mail address the token belongs to"),
        SettingField("base_url", "API base URL (overrides the subdomain)", required=False),
    )

    shown: ClassVar[tuple[str, ...]] = ("email", "base_url")
    credential_check_doc: ClassVar[str | None] = (
        "https://developer.zendesk.com/api-reference/ticketing/users/users/#show-self"
    )
    lookup_doc: ClassVar[str | None] = (
        "https://developer.zendesk.com/api-reference/ticketing/tickets/tickets/#list-tickets"
    )

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        api_token: str,
        subdomain: str,
        email: str,
        base_url: str | None = None,
    ) -> None:
        require({"email": email}, self.display_name, "email")  # the Basic user name is `{email}/token`
        host = subdomain.strip().lower().removesuffix(".zendesk.com")
        if not _SUBDOMAIN.fullmatch(host):
            raise ConfigurationError(f"{self.display_name}: subdomain must be the name before .zendesk.com.")
        super().__init__(http, base_url=base_url or self.default_base_url.format(subdomain=host))
        self._email = email
        self._auth = httpx.BasicAuth(f"{email}/token", api_token)

    def build_request(self, message: OutboundMessage) -> tuple[str, dict[str, str], dict[str, Any]]:
        """The path, the extra headers and the JSON body for one message."""
        self.check_channel(message)
        if message.attachments:
            raise UnsupportedFeature(f"{self.display_name}: attachments need an upload token, not supported.")
        if message.html:
            comment: dict[str, Any] = {"html_body": message.html}
        elif message.text:
            comment = {"body": message.text}
        else:
            raise PermanentProviderError(f"{self.display_name}: the message has no html or text.")
        comment["public"] = False  # an internal note: the customer is not e-mailed by Zendesk
        requester: dict[str, str] = {"email": message.to}
        name = message.provider_extra.get("name")
        if name:
            requester["name"] = str(name)
        sale = message.metadata.get("sale_id")
        ticket: dict[str, Any] = {
            "subject": message.subject or (f"Receipt {sale}" if sale else "Receipt"),
            "comment": comment,
            "requester": requester,
            "tags": [TAG],
        }
        # The delivery's own reference, the same on every attempt: a ticket's `external_id` is a string
        # referring to another system's record (support.zendesk.com/hc/en-us/articles/4408819890330)
        # and List Tickets filters by it; an
        # idempotency key is kept only a while and cannot be asked about (docs/providers.md § Looking up a message).
        ticket["external_id"] = message.idempotency_key
        # Ticket create honours Idempotency-Key (≤255 chars); nothing else in the Tickets API does.
        headers = {"Idempotency-Key": message.idempotency_key}
        return PATH, headers, {"ticket": ticket}

    def credential_request(self) -> HttpRequest | None:
        """Show the currently authenticated user (`GET /api/v2/users/me`): the agent the token belongs to."""
        return HttpRequest(
            self._base_url + "/api/v2/users/me", method="GET", headers={"Accept": "application/json"}, auth=self._auth
        )

    def credentials_accepted(self, response: httpx.Response) -> tuple[bool | None, str]:
        """Zendesk answers an unauthenticated caller as an anonymous user (no id): that is a refusal too."""
        user = _json_object(response).get("user")
        if response.is_success and not (isinstance(user, dict) and user.get("id")):
            return False, f"{self.display_name} answered as to an anonymous user: the e-mail and token do not match."
        return super().credentials_accepted(response)

    def lookup_request(self, message: OutboundMessage, *, sent_after: datetime) -> HttpRequest | None:
        """List Tickets by external id (`GET /api/v2/tickets.json?external_id=`): every ticket filed
        under this delivery's reference, whenever it was filed (the reference is this delivery's
        alone, so `sent_after` narrows nothing). List Tickets reads the tickets themselves, not the
        search index, which Zendesk fills a little later."""
        self.check_channel(message)
        query = urlencode({"external_id": message.idempotency_key})
        return HttpRequest(
            f"{self._base_url}{PATH}.json?{query}",
            method="GET",
            headers={"Accept": "application/json"},
            auth=self._auth,
        )

    def parse_lookup(self, response: httpx.Response, message: OutboundMessage) -> Lookup:
        """Found when a listed ticket carries this delivery's reference as its `external_id`.

        External ids need not be unique, so more than one ticket is possible (the detail says so);
        the first listed (the oldest) is the one named.
        """
        tickets = _json_object(response).get("tickets")
        if not isinstance(tickets, list):
            return Lookup(found=None, detail=f"{self.display_name} answered the lookup without a ticket list")
        ours = [t for t in tickets if isinstance(t, dict) and t.get("external_id") == message.idempotency_key]
        if not ours:
            return Lookup(found=False, detail=f"{self.display_name} has no ticket with this reference")
        first = ours[0]
        ticket_id, status = first.get("id"), first.get("status")
        detail = f"{self.display_name} filed it as ticket {ticket_id}"
        if len(ours) > 1:
            detail += f"; {len(ours)} tickets carry this reference"
        return Lookup(
            found=True,
            provider_message_id=str(ticket_id) if isinstance(ticket_id, int | str) and ticket_id else None,
            raw_status=status if isinstance(status, str) else None,
            detail=detail,
        )

    def request(self, message: OutboundMessage) -> HttpRequest:
        path, headers, body = self.build_request(message)
        url = self._base_url + path
        return HttpRequest(url, json=body, headers={"Accept": "application/json", **headers}, auth=self._auth)

    def parse_response(self, response: httpx.Response) -> SendResult:
        """A `SendResult` for a 2xx answer; raises the classified error for any other."""
        if not response.is_success:
            raise self._error(response)
        payload = _json_object(response)
        ticket = payload.get("ticket")
        ticket_id = ticket.get("id") if isinstance(ticket, dict) else None
        status = STATUS_MAP.get(response.status_code, SendStatus.UNKNOWN)
        replayed = response.headers.get(LOOKUP_HEADER, "").lower() == "hit"
        detail = "replay of an earlier create (idempotency key hit)" if replayed else None
        if status is not SendStatus.ACCEPTED:
            detail = f"answered {response.status_code}, not 201"
        return SendResult(
            provider_message_id=str(ticket_id) if isinstance(ticket_id, int | str) and ticket_id else None,
            status=status,
            raw_status=str(response.status_code),
            detail=detail,
        )

    def _error(self, response: httpx.Response) -> Exception:
        # {"error": "RecordInvalid", "description", "details"}, {"error": {"title", "message"}} or {"error": "..."}.
        payload = _json_object(response)
        error, description = payload.get("error"), payload.get("description")
        code: str | None = None
        if isinstance(error, dict):
            title, text = error.get("title"), error.get("message")
            detail = ": ".join(str(x) for x in (title, text) if x) or (response.reason_phrase or "error")
        else:
            code = error if isinstance(error, str) else None
            detail = ": ".join(str(x) for x in (error, description) if x) or (response.reason_phrase or "error")
        if response.status_code == 409:
            # A create still in flight under the same key (UNVERIFIED: not in Zendesk's docs); retrying
            # the same request later replays the first result, so it is safe to retry.
            return TransientProviderError(
                f"{self.display_name} answered 409: {detail[:300]}", status_code=409, code=code, retry_after=1.0
            )
        # IdempotentRequestError (same key, other body) stays permanent: a ticket for this key exists.
        return classify_status(self.display_name, response, detail[:400], code=code)


def _json_object(response: httpx.Response) -> dict[str, Any]:
    try:
        payload = response.json()
    except ValueError:
        return {}
    return payload if isinstance(payload, dict) else {}
