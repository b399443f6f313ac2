"""The sandbox's account for every provider it stands in for: the settings and secrets that open it.

`receiptdesk demo` configures its adapters from here, so any channel can be routed to any provider
with no real account. None of these values opens anything but the local sandbox.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from app.sandbox import (
    credentials,
    freshdesk,
    hubspot,
    mailgun,
    mandrill,
    oauth_tokens,
    postmark,
    ses,
    slack,
    teams,
    zapier,
    zendesk,
)


@dataclass(frozen=True, slots=True)
class SandboxAccount:
    settings: dict[str, Any]
    secrets: dict[str, str] = field(default_factory=dict)


def accounts(sandbox_url: str, *, store_name: str = "ReceiptDesk Demo Market") -> dict[str, SandboxAccount]:
    """provider_id -> the settings (pointing at `sandbox_url`) and secrets the sandbox accepts."""
    base = {"base_url": sandbox_url, "rate_per_sec": 0}
    oauth = {
        provider: SandboxAccount({**settings, "rate_per_sec": 0}, dict(oauth_tokens.ADAPTER_SECRETS.get(provider, {})))
        for provider, settings in oauth_tokens.adapter_settings(sandbox_url).items()
    }
    return {
        **oauth,
        "twilio": SandboxAccount(
            {**base, "account_sid": credentials.TWILIO_ACCOUNT_SID, "from_number": credentials.TWILIO_FROM},
            {"auth_token": credentials.TWILIO_AUTH_TOKEN},
        ),
        "sendgrid": SandboxAccount(
            {**base, "from_email": credentials.SENDGRID_FROM, "from_name": store_name},
            {"api_key": credentials.SENDGRID_API_KEY},
        ),
        "mailgun": SandboxAccount(
            {**base, "domain": mailgun.MAILGUN_DOMAIN, "from_email": mailgun.MAILGUN_FROM, "from_name": store_name},
            {"api_key": mailgun.MAILGUN_API_KEY},
        ),
        "mandrill": SandboxAccount(
            {**base, "from_email": mandrill.MANDRILL_FROM, "from_name": store_name},
            {"api_key": mandrill.MANDRILL_API_KEY},
        ),
        "postmark": SandboxAccount(
            {**base, "from_email": postmark.POSTMARK_FROM, "from_name": store_name},
            {"server_token": postmark.POSTMARK_SERVER_TOKEN},
        ),
        "twilio_whatsapp": SandboxAccount(
            {
                **base,
                "account_sid": credentials.TWILIO_ACCOUNT_SID,
                "from_number": credentials.TWILIO_FROM,
                "content_sid": "HX" + "0" * 32,
            },
            {"auth_token": credentials.TWILIO_AUTH_TOKEN},
        ),
        "slack": SandboxAccount({"rate_per_sec": 0}, {"webhook_url": sandbox_url + slack.SANDBOX_WEBHOOK_PATH}),
        "teams": SandboxAccount({"rate_per_sec": 0}, {"workflow_url": sandbox_url + teams.SANDBOX_WEBHOOK_PATH}),
        "zapier": SandboxAccount({"rate_per_sec": 0}, {"webhook_url": sandbox_url + zapier.SANDBOX_WEBHOOK_PATH}),
        "hubspot": SandboxAccount(
            {**base, "email_id": hubspot.SANDBOX_EMAIL_ID}, {"access_token": hubspot.SANDBOX_ACCESS_TOKEN}
        ),
        "freshdesk": SandboxAccount(
            {**base, "domain": freshdesk.SANDBOX_DOMAIN, "email_config_id": freshdesk.SANDBOX_EMAIL_CONFIG_ID},
            {"api_key": freshdesk.SANDBOX_API_KEY},
        ),
        "zendesk": SandboxAccount(
            {**base, "subdomain": zendesk.SANDBOX_SUBDOMAIN, "email": zendesk.SANDBOX_EMAIL},
            {"api_token": zendesk.SANDBOX_API_TOKEN},
        ),
        "ses": SandboxAccount(
            {**base, "region": ses.SES_REGION, "from_email": ses.SES_FROM, "from_name": store_name},
            {"access_key_id": ses.SES_ACCESS_KEY_ID, "secret_access_key": ses.SES_SECRET_ACCESS_KEY},
        ),
    }
