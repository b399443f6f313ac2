"""The readable page of a customer's file: what the store holds about them, plain and printable.

Rendered from the same document as the file's JSON (`templates/customer/file.html`, English), in the
sandboxed environment with HTML autoescaped: a receipt's text is shown as text, never as markup. Times
are written out in words and channels and sources named as a person says them; the JSON keeps the
exact values.
"""

from __future__ import annotations

import copy
from datetime import datetime
from typing import Any

from app.rendering.environment import RenderingEnvironment

TEMPLATE = "customer/file.html"

CHANNELS = {"email": "Email", "sms": "Text message", "whatsapp": "WhatsApp", "push": "Store app", "print": "Printed"}
SOURCES = {
    "customer_screen": "on the customer screen",
    "staff": "entered by staff",
    "register": "at the register",
    "text_in": "you texted the store",
    "stop_reply": "you replied STOP",
    "start_reply": "you replied START",
    "email_link": "the unsubscribe link in an email",
    "email_reply": "an unsubscribe email",
    "cashier": "asked a cashier",
    "manager": "asked a manager",
}
_TIMES = ("made_at", "created_at", "recorded_at", "occurred_at", "registered_at", "last_seen_at")

_environment: RenderingEnvironment | None = None


def render_customer_file(document: dict[str, Any]) -> str:
    """The HTML page of a customer's file (`document` as the JSON file holds it)."""
    global _environment
    if _environment is None:
        _environment = RenderingEnvironment()
    shown = _readable(copy.deepcopy(document))
    return _environment.template(TEMPLATE).render(
        store=shown["store"], made_at=shown["made_at"], asked_for=shown["asked_for"], customers=shown["customers"]
    )


def _readable(value: Any) -> Any:
    if isinstance(value, list):
        return [_readable(v) for v in value]
    if not isinstance(value, dict):
        return value
    out: dict[str, Any] = {}
    for key, item in value.items():
        if key in _TIMES and isinstance(item, str):
            out[key] = _when(item)
        elif key == "channel" and isinstance(item, str):
            out[key] = CHANNELS.get(item, item)
        elif key == "source" and isinstance(item, str):
            out[key] = SOURCES.get(item, item)
        else:
            out[key] = _readable(item)
    return out


def _when(text: str) -> str:
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return text
    return f"{moment:%b} {moment.day}, {moment:%Y}, {moment:%H:%M} {moment:%Z}".strip()
