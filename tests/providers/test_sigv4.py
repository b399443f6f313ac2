"""The SigV4 signer against botocore's `SigV4Auth` (the oracle) and AWS's published `get-vanilla` vector."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from unittest import mock

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from app.support import sigv4

NOW = datetime(2026, 11, 28, 15, 0, 0)
KEY_ID = "AKIDEXAMPLE"
SECRET = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"


def botocore_headers(
    method: str, url: str, headers: dict[str, str], body: bytes, token: str | None, region: str, service: str
) -> dict[str, str]:
    request = AWSRequest(method=method, url=url, data=body, headers=headers)
    with mock.patch("botocore.auth.get_current_datetime", return_value=NOW):
        SigV4Auth(Credentials(KEY_ID, SECRET, token), service, region).add_auth(request)
    return {k: v.decode() if isinstance(v, bytes) else v for k, v in request.headers.items()}


CASES = {
    "ses-json": ("POST", "https://email.us-east-1.amazonaws.com/v2/email/outbound-emails", b'{"a": 1}'),
    "loopback-port": ("POST", "http://127.0.0.1:8443/v2/email/outbound-emails", b"{}"),
    "default-port-dropped": ("POST", "https://email.eu-west-1.amazonaws.com:443/v2/email/outbound-emails", b"{}"),
    "query-sorted": ("GET", "https://email.us-east-1.amazonaws.com/v2/email/identities?PageSize=5&NextToken=a", b""),
    "encoded-path": ("GET", "https://email.us-east-1.amazonaws.com/v2/email/identities/a%40b.example", b""),
    "ipv6": ("POST", "http://[::1]:9000/v2/email/outbound-emails", b"x"),
}


@pytest.mark.parametrize("token", [None, "session/token+=="], ids=["no-token", "token"])
@pytest.mark.parametrize(("method", "url", "body"), CASES.values(), ids=CASES.keys())
def test_equals_botocore(method: str, url: str, body: bytes, token: str | None) -> None:
    headers = {"Content-Type": "application/json", "X-Custom": "  two   spaces  "}
    theirs = botocore_headers(method, url, dict(headers), body, token, "eu-west-1", "ses")
    ours = sigv4.sign(
        method,
        url,
        headers,
        body,
        region="eu-west-1",
        service="ses",
        access_key_id=KEY_ID,
        secret_access_key=SECRET,
        session_token=token,
        now=NOW,
    )
    assert ours["Authorization"] == theirs["Authorization"]
    assert ours["X-Amz-Date"] == theirs["X-Amz-Date"] == "20261128T150000Z"
    assert ours.get("X-Amz-Security-Token") == theirs.get("X-Amz-Security-Token")


def test_user_agent_and_hop_by_hop_headers_are_not_signed() -> None:
    headers = {"User-Agent": "x", "Connection": "keep-alive", "Content-Type": "application/json"}
    url = "https://email.us-east-1.amazonaws.com/v2/email/outbound-emails"
    ours = sigv4.sign(
        "POST", url, headers, b"{}", region="us-east-1", service="ses", access_key_id=KEY_ID,
        secret_access_key=SECRET, now=NOW,
    )  # fmt: skip
    assert "SignedHeaders=content-type;host;x-amz-date," in ours["Authorization"]
    assert (
        ours["Authorization"]
        == botocore_headers("POST", url, headers, b"{}", None, "us-east-1", "ses")["Authorization"]
    )


def test_aws_get_vanilla_vector() -> None:
    # AWS SigV4 test suite, "get-vanilla" (GET / on example.amazonaws.com, 2015-08-30T12:36:00Z).
    ours = sigv4.sign(
        "GET", "https://example.amazonaws.com/", {}, b"", region="us-east-1", service="service",
        access_key_id=KEY_ID, secret_access_key=SECRET, now=datetime(2015, 8, 30, 12, 36, tzinfo=UTC),
    )  # fmt: skip
    assert ours["Authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
    )


def test_amz_date_is_utc_whatever_the_zone() -> None:
    eastern = timezone(timedelta(hours=-5))
    assert sigv4.amz_date(datetime(2026, 11, 28, 10, 0, tzinfo=eastern)) == "20261128T150000Z"
    assert sigv4.amz_date(NOW) == "20261128T150000Z"


# --- verification (what the SES sandbox does) ----------------------------------------------------

URL = "http://127.0.0.1:8443/v2/email/outbound-emails"


def signed(body: bytes = b'{"a": 1}', secret: str = SECRET) -> tuple[dict[str, str], sigv4.ParsedAuthorization]:
    headers = {"content-type": "application/json", "host": "127.0.0.1:8443"}
    added = sigv4.sign(
        "POST", URL, headers, body, region="us-east-1", service="ses", access_key_id=KEY_ID,
        secret_access_key=secret, session_token="tok", now=NOW,
    )  # fmt: skip
    headers |= {k.lower(): v for k, v in added.items()}
    auth = sigv4.parse_authorization(added["Authorization"])
    assert auth is not None
    return headers, auth


def test_verify_accepts_its_own_signature_and_parses_the_header() -> None:
    headers, auth = signed()
    assert (auth.access_key_id, auth.date, auth.region, auth.service) == (KEY_ID, "20261128", "us-east-1", "ses")
    assert auth.signed_headers == ("content-type", "host", "x-amz-date", "x-amz-security-token")
    assert sigv4.verify(
        "POST", "/v2/email/outbound-emails", "", headers, b'{"a": 1}', auth=auth, secret_access_key=SECRET
    )


@pytest.mark.parametrize(
    "tamper",
    ["body", "header", "secret", "path", "method", "drop-signed-header", "unsorted"],
)
def test_verify_refuses_any_change(tamper: str) -> None:
    headers, auth = signed()
    body, secret, path, method = b'{"a": 1}', SECRET, "/v2/email/outbound-emails", "POST"
    if tamper == "body":
        body = b'{"a": 2}'
    elif tamper == "header":
        headers["content-type"] = "text/plain"
    elif tamper == "secret":
        secret = "not-the-secret"
    elif tamper == "path":
        path = "/v2/email/identities"
    elif tamper == "method":
        method = "PUT"
    elif tamper == "drop-signed-header":
        del headers["x-amz-security-token"]
    else:
        auth = sigv4.ParsedAuthorization(
            auth.access_key_id,
            auth.date,
            auth.region,
            auth.service,
            tuple(reversed(auth.signed_headers)),
            auth.signature,
        )
    assert not sigv4.verify(method, path, "", headers, body, auth=auth, secret_access_key=secret)


@pytest.mark.parametrize(
    "value",
    [
        "",
        "Bearer abc",
        "AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/ses, SignedHeaders=host, Signature=" + "0" * 64,
        "AWS4-HMAC-SHA256 Credential=AKID/20261128/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=xyz",
    ],
)
def test_parse_authorization_refuses_malformed_headers(value: str) -> None:
    assert sigv4.parse_authorization(value) is None
