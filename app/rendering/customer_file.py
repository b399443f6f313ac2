"""The readable page of a customer's file: what the store holds about them, plain and printable.

Rendered from the same documents as the file's JSON (`templates/customer/file.html`, English), in the
sandboxed environment with HTML autoescaped: a receipt's text is shown as text, never as markup.
"""

from __future__ import annotations

from typing import Any

from app.rendering.environment import RenderingEnvironment

TEMPLATE = "customer/file.html"

_environment: RenderingEnvironment | None = None


def render_customer_file(document: dict[str, Any]) -> str:
    """The HTML page of a customer's file (`document` as the JSON file holds it)."""
    global _environment
    if _environment is None:
        _environment = RenderingEnvironment()
    return _environment.template(TEMPLATE).render(
        store=document["store"],
        made_at=document["made_at"],
        asked_for=document["asked_for"],
        customers=document["customers"],
    )
