"""A receipt sent with the store's own template at SendGrid, Postmark and Mandrill.

Each adapter's request body is compared with what the provider's official SDK builds from the same
data, and the data is a real rendered receipt's, validated against `docs/receipt-data.schema.json`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import mailchimp_transactional
import pytest
import requests
from postmark.models.templates.schemas import TemplateEmail
from sendgrid.helpers.mail import CustomArg, From, Header, Mail, To

from app.demo.wiring import DEMO_PROFILE
from app.domain.channels import Channel, Language
from app.domain.errors import PermanentProviderError
from app.domain.intake import parse_sale
from app.domain.message import OutboundMessage
from app.providers.mandrill import MandrillAdapter
from app.providers.mime import message_id
from app.providers.postmark import PostmarkAdapter
from app.providers.sendgrid import SendGridAdapter
from app.providers.templates import RECEIPT_DATA, template_of
from app.rendering.receipts import ReceiptRenderer
from tests.providers.support import OFFLINE
from tests.rendering import sample_payload

SCHEMA = json.loads((Path(__file__).resolve().parents[2] / "docs" / "receipt-data.schema.json").read_text("utf-8"))
FROM_EMAIL = "receipts@demo-market.example"
TO = "ana@example.com"
KEY = "rd-dlv-42"


@pytest.fixture(scope="module")
def data() -> dict[str, Any]:
    rendered = ReceiptRenderer().render(parse_sale(sample_payload()), DEMO_PROFILE, Language.EN)
    assert rendered.template_data is not None
    loaded: dict[str, Any] = json.loads(rendered.template_data)
    return loaded


def receipt(data: dict[str, Any] | None) -> OutboundMessage:
    """A receipt as the dispatcher builds it: our own rendering, plus the data when the receipt has it."""
    return OutboundMessage(
        Channel.EMAIL,
        TO,
        KEY,
        subject="Your receipt from ReceiptDesk Demo Market — $25.70",
        html="<p>Total $25.70</p>",
        text="Total $25.70",
        metadata={"receipt_id": "r-1"},
        provider_extra={} if data is None else {RECEIPT_DATA: data},
    )


def valid(data: Any) -> None:
    jsonschema.Draft202012Validator(SCHEMA).validate(data)


def sendgrid(template_id: str | None = "d-5a1e9c0b7f2d4e8a") -> SendGridAdapter:
    return SendGridAdapter(OFFLINE, api_key="SG.k", from_email=FROM_EMAIL, template_id=template_id)


def postmark(template_id: str | None = "receipt") -> PostmarkAdapter:
    return PostmarkAdapter(OFFLINE, server_token="pm-token", from_email=FROM_EMAIL, template_id=template_id)


def mandrill(template_id: str | None = "store-receipt") -> MandrillAdapter:
    return MandrillAdapter(OFFLINE, api_key="md-key", from_email=FROM_EMAIL, template_id=template_id)


# --- SendGrid: dynamic_template_data -------------------------------------------------------------


def test_sendgrid_sends_the_store_template_as_the_official_sdk_would(data: dict[str, Any]) -> None:
    message = receipt(data)
    _, body = sendgrid().build_request(message)
    mail = Mail(from_email=From(FROM_EMAIL), to_emails=To(TO))
    for key, value in {"receipt_id": "r-1", "receiptdesk_key": KEY}.items():
        mail.add_custom_arg(CustomArg(key, value, p=0))
    mail.header = Header("Message-ID", message_id(KEY, FROM_EMAIL))
    mail.template_id = "d-5a1e9c0b7f2d4e8a"
    mail.dynamic_template_data = data
    assert body == mail.get()
    assert not {"content", "subject"} & set(body)  # the template supplies both
    valid(body["personalizations"][0]["dynamic_template_data"])


# --- Postmark: TemplateAlias or TemplateId, TemplateModel ----------------------------------------


@pytest.mark.parametrize(
    ("setting", "key", "value"), [("receipt", "TemplateAlias", "receipt"), ("3921", "TemplateId", 3921)]
)
def test_postmark_sends_the_store_template_as_the_official_model_reads_it(
    data: dict[str, Any], setting: str, key: str, value: object
) -> None:
    path, body = postmark(setting).build_request(receipt(data))
    assert path == "/email/withTemplate"
    assert body[key] == value
    assert TemplateEmail.model_validate(body).model_dump(by_alias=True, exclude_unset=True) == body
    assert not {"Subject", "HtmlBody", "TextBody"} & set(body)
    assert body["TemplateModel"] == data
    valid(body["TemplateModel"])


# --- Mandrill: send-template with handlebars global_merge_vars ------------------------------------


def test_mandrill_sends_the_store_template_as_the_official_sdk_would(
    data: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    path, body = mandrill().build_request(receipt(data))
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
    request = {
        "template_name": "store-receipt",
        "template_content": [],
        "message": {
            "subject": "Your receipt from ReceiptDesk Demo Market — $25.70",
            "from_email": FROM_EMAIL,
            "to": [{"email": TO, "type": "to"}],
            "headers": {"Message-Id": message_id(KEY, FROM_EMAIL)},
            "metadata": {"receipt_id": "r-1", "receiptdesk_key": KEY},
            "global_merge_vars": [{"name": k, "content": v} for k, v in data.items()],
            "merge_language": "handlebars",
        },
    }
    mailchimp_transactional.Client("md-key").messages.send_template(request)
    ((url, sdk_body),) = captured
    assert path == "/api/1.0/messages/send-template.json" and url.endswith("/messages/send-template.json")
    assert body == sdk_body
    assert not {"html", "text"} & set(body["message"])  # the template is the content
    valid({v["name"]: v["content"] for v in body["message"]["global_merge_vars"]})


# --- when our own rendering goes out -------------------------------------------------------------


@pytest.mark.parametrize("make", [sendgrid, postmark, mandrill], ids=["sendgrid", "postmark", "mandrill"])
def test_our_own_rendering_without_a_template_or_without_data(make: Any, data: dict[str, Any]) -> None:
    for adapter, message in ((make(None), receipt(data)), (make(), receipt(None))):
        assert template_of(adapter, message) is None
        path, body = adapter.build_request(message)
        assert "template" not in path.lower()
        assert "Total $25.70" in json.dumps(body)
    assert template_of(make(), receipt(data)) is not None


# --- which refusals are the template's ------------------------------------------------------------


def refusal(status: int, code: str | None = None, message: str = "refused") -> PermanentProviderError:
    return PermanentProviderError(message, status_code=status, code=code)


def test_only_a_refusal_of_the_template_itself_counts() -> None:
    bad_template = "SendGrid answered 400: The template id must be a valid template id for your account (template_id)"
    assert sendgrid().template_refused(refusal(400, message=bad_template))
    assert not sendgrid().template_refused(
        refusal(400, message="SendGrid answered 400: Does not contain a valid address. (personalizations.0.to.0.email)")
    )
    assert not sendgrid().template_refused(refusal(401, message="SendGrid answered 401: template_id"))
    assert postmark().template_refused(refusal(422, "1101"))
    assert not postmark().template_refused(refusal(422, "300"))
    assert not postmark().template_refused(refusal(401, "10"))
    assert mandrill().template_refused(refusal(500, "Unknown_Template"))
    assert not mandrill().template_refused(refusal(500, "Invalid_Key"))


async def test_the_adapters_classify_the_providers_answers() -> None:
    """The answers the providers give for a template they do not have become errors `template_refused` accepts."""
    answers = {
        "sendgrid": httpx.Response(
            400,
            json={
                "errors": [
                    {"message": "The template id must be a valid template id for your account.", "field": "template_id"}
                ]
            },
        ),
        "postmark": httpx.Response(422, json={"ErrorCode": 1101, "Message": "Template not found."}),
        "mandrill": httpx.Response(
            500, json={"status": "error", "code": 5, "name": "Unknown_Template", "message": "No such template"}
        ),
    }
    for adapter in (sendgrid(), postmark(), mandrill()):
        response = answers[adapter.provider_id]
        with pytest.raises(PermanentProviderError) as refused:
            adapter.parse_response(response)
        assert adapter.template_refused(refused.value), adapter.provider_id
