"""Inline images (the return barcode, the store's logo) on the wire of every e-mail adapter that carries
attachments, each in the field its provider documents for an image the HTML shows by `cid:`."""

from __future__ import annotations

import base64
import email.policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any

import httpx
import pytest

from app.domain.channels import Channel
from app.domain.message import Attachment, OutboundMessage
from app.providers.mailgun import MailgunAdapter
from app.providers.mandrill import MandrillAdapter
from app.providers.postmark import PostmarkAdapter
from app.providers.sendgrid import SendGridAdapter
from tests.providers.test_gmail import make as make_gmail
from tests.providers.test_msgraph import make as make_graph
from tests.providers.test_ses import make as make_ses

OFFLINE = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: httpx.Response(599)))
PNG = b"\x89PNG\r\n\x1a\n-barcode-"
PDF = b"%PDF-1.4 receipt"
CODE = Attachment("return-code.png", "image/png", PNG, content_id="return-code.png")
FILE = Attachment("receipt.pdf", "application/pdf", PDF)
MESSAGE = OutboundMessage(
    Channel.EMAIL,
    to="ana@example.com",
    idempotency_key="k-inline",
    subject="Your receipt",
    text="Return code RD-S-1",
    html='<p><img src="cid:return-code.png" alt="">Return code RD-S-1</p>',
    attachments=(CODE, FILE),
)
SENDER = {"from_email": "receipts@demo-market.example"}


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def test_sendgrid_marks_the_image_inline_with_its_content_id() -> None:
    _, body = SendGridAdapter(OFFLINE, api_key="SG.x", **SENDER).build_request(MESSAGE)
    assert body["attachments"] == [
        {
            "content": b64(PNG),
            "filename": "return-code.png",
            "type": "image/png",
            "disposition": "inline",
            "content_id": "return-code.png",
        },
        {"content": b64(PDF), "filename": "receipt.pdf", "type": "application/pdf", "disposition": "attachment"},
    ]


def test_postmark_gives_the_image_a_cid_content_id() -> None:
    _, body = PostmarkAdapter(OFFLINE, server_token="pm", **SENDER).build_request(MESSAGE)
    image, file = body["Attachments"]
    assert image == {
        "Name": "return-code.png",
        "Content": b64(PNG),
        "ContentType": "image/png",
        "ContentID": "cid:return-code.png",
    }
    assert "ContentID" not in file


def test_mandrill_sends_the_image_in_images_named_by_its_content_id() -> None:
    _, body = MandrillAdapter(OFFLINE, api_key="md", **SENDER).build_request(MESSAGE)
    assert body["message"]["images"] == [{"type": "image/png", "name": "return-code.png", "content": b64(PNG)}]
    assert [a["name"] for a in body["message"]["attachments"]] == ["receipt.pdf"]


def test_mailgun_sends_the_image_as_an_inline_part_named_by_its_content_id() -> None:
    adapter = MailgunAdapter(OFFLINE, api_key="key", domain="mg.example", **SENDER)
    _, _, files = adapter.build_request(MESSAGE)
    assert files == [
        ("inline", ("return-code.png", PNG, "image/png")),
        ("attachment", ("receipt.pdf", PDF, "application/pdf")),
    ]


def test_graph_marks_the_image_inline_with_its_content_id() -> None:
    _, body = make_graph(OFFLINE).build_request(MESSAGE)
    image, file = body["message"]["attachments"]
    assert image["isInline"] is True and image["contentId"] == "return-code.png"
    assert "isInline" not in file and "contentId" not in file


def _related_image(mail: EmailMessage) -> EmailMessage:
    """The image part next to the html part in multipart/related; the PDF stays an attachment."""
    assert mail.get_content_type() == "multipart/mixed"
    related = next(part for part in mail.walk() if part.get_content_type() == "multipart/related")
    html, image = list(related.iter_parts())
    assert isinstance(html, EmailMessage) and isinstance(image, EmailMessage)
    assert html.get_content_type() == "text/html" and "cid:return-code.png" in html.get_content()
    assert [a.get_filename() for a in mail.iter_attachments()] == ["receipt.pdf"]
    return image


def _check_image(image: EmailMessage) -> None:
    assert image["Content-ID"] == "<return-code.png>"
    assert image.get_content_disposition() == "inline"
    assert image.get_content() == PNG


def test_ses_raw_message_relates_the_image_to_the_html() -> None:
    _, body = make_ses().build_request(MESSAGE)
    raw = base64.b64decode(body["Content"]["Raw"]["Data"])
    mail = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(mail, EmailMessage)
    _check_image(_related_image(mail))


def test_gmail_raw_message_relates_the_image_to_the_html() -> None:
    _, body = make_gmail(OFFLINE).build_request(MESSAGE)
    raw = base64.urlsafe_b64decode(body["raw"])
    mail = BytesParser(policy=email.policy.default).parsebytes(raw)
    assert isinstance(mail, EmailMessage)
    _check_image(_related_image(mail))


@pytest.mark.parametrize("html", [None, ""])
def test_an_inline_image_without_html_goes_as_a_plain_attachment(html: Any) -> None:
    message = OutboundMessage(
        Channel.EMAIL, to="ana@example.com", idempotency_key="k", subject="s", text="t", html=html, attachments=(CODE,)
    )
    _, body = make_gmail(OFFLINE).build_request(message)
    mail = BytesParser(policy=email.policy.default).parsebytes(base64.urlsafe_b64decode(body["raw"]))
    assert isinstance(mail, EmailMessage)
    assert [a.get_filename() for a in mail.iter_attachments()] == ["return-code.png"]
