"""Wiring of receipt e-mails' unsubscribe: where its mailto leads, and the service behind its pages."""

from __future__ import annotations

import logging

from app.config.settings import Settings
from app.domain.channels import Channel
from app.domain.routing import Routing
from app.domain.unsubscribe import UnsubscribeRoute
from app.main.edges import Secrets, secret_getter
from app.services.bus import EventBus
from app.services.unsubscribe import UnsubscribeService
from app.storage.database import Database

log = logging.getLogger(__name__)

SENDER_FIELDS = ("from_email", "sender")
"""The setting that names an e-mail provider's sender address (most: `from_email`; Gmail and Graph: `sender`)."""


def unsubscribe_route(settings: Settings, routing: Routing) -> UnsubscribeRoute | None:
    """`[store] unsubscribe_email`, else the sender address of the first e-mail provider (whose mailbox then
    receives the unsubscribe e-mails); None when there is neither (no e-mail provider is set up)."""
    mailbox = settings.store.unsubscribe_email
    if not mailbox:
        for provider in routing.chains.get(Channel.EMAIL, ()):
            section = settings.providers.get(provider, {})
            found = next((section[f] for f in SENDER_FIELDS if isinstance(section.get(f), str) and section[f]), None)
            if found:
                mailbox = str(found)
                log.info(
                    "[store] unsubscribe_email is not set: unsubscribe e-mails go to %s, %s's sender", mailbox, provider
                )
                break
    if not mailbox or "@" not in mailbox:
        return None
    return UnsubscribeRoute(mailbox.strip(), settings.api.public_url or None)


def build_unsubscribe(settings: Settings, db: Database, bus: EventBus, secrets: Secrets | None) -> UnsubscribeService:
    """The service behind `/unsubscribe/...` and the Mailgun inbound forward (key: the Mailgun webhook signing key)."""
    return UnsubscribeService(
        db,
        bus,
        store_name=settings.store.name,
        mailgun_signing_key=secret_getter(secrets)("mailgun", "webhook_signing_key"),
        default_language=settings.store.default_language,
    )
