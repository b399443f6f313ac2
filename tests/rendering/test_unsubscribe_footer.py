"""The unsubscribe line of a receipt e-mail: in the slot of the footer, in the e-mail's language, link or mailbox."""

from __future__ import annotations

from app.domain.unsubscribe import UnsubscribeRoute, token_in
from app.rendering.unsubscribe import SLOT, place_footer

TOKEN = "q3Jd0fW2xZk8LmN4pR6sT9vA"
MAILBOX = UnsubscribeRoute("receipts@demo-market.example")


def test_without_a_public_url_the_line_names_the_plus_addressed_mailbox() -> None:
    html = f'<html lang="en"><body><td class="footer">Thanks{SLOT}</td></body></html>'
    placed_html, placed_text = place_footer(
        html, "Total $1.00\n", link=None, address=MAILBOX.address(TOKEN), mailto=MAILBOX.mailto(TOKEN)
    )
    address = f"receipts+{TOKEN}@demo-market.example"
    assert placed_html == (
        '<html lang="en"><body><td class="footer">Thanks<br><br>Don&#x27;t want receipts by email? Send an email '
        f'with the word unsubscribe to <a href="mailto:{address}?subject=unsubscribe%20{TOKEN}">{address}</a>.'
        "</td></body></html>"
    )
    assert placed_text is not None and placed_text.startswith("Total $1.00\n\nDon't want receipts by email?")
    assert address in placed_text and SLOT not in placed_html


def test_a_snapshot_without_the_slot_gets_the_line_before_body_end_in_its_language() -> None:
    link = f"https://lane3.store.example/unsubscribe/{TOKEN}"
    html, text = place_footer(
        '<html lang="es"><body><p>Recibo</p></body></html>', None, link=link, address="", mailto=""
    )
    assert html is not None and text is None
    assert html.endswith(f'<a href="{link}">Cancelar la suscripción</a></p></body></html>')


def test_the_token_is_found_in_the_recipient_else_the_subject() -> None:
    assert token_in(f"receipts+{TOKEN}@demo-market.example", "hello") == TOKEN
    assert token_in("receipts@demo-market.example", f"Re: unsubscribe {TOKEN}") == TOKEN
    assert token_in("receipts@demo-market.example", "unsubscribe me please", "thanks") is None
