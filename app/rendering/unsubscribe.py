"""The unsubscribe line at the foot of a receipt (or order-update) e-mail, written in when it is sent.

A rendered receipt is the same for every address and never changes, but the line names the address's own
token, so it is placed at send time, as the inline images are: the HTML templates hold an
`<!--unsubscribe-->` slot in their footer (an HTML comment: invisible wherever the line is not
placed), the line goes there (or before `</body>` in a receipt rendered before the slot existed), and the
plain-text part gets it as its last paragraph. The line is in the e-mail's own language (its
`<html lang>`): the one-click link when the API has a public URL, else the plus-addressed mailbox to write to.
"""

from __future__ import annotations

import re
from html import escape

from app.domain.channels import Language
from app.rendering.formatting import text_wrap
from app.rendering.i18n import catalogue

SLOT = "<!--unsubscribe-->"
_LANG = re.compile(r"<html[^>]*\blang=\"([A-Za-z-]+)\"", re.IGNORECASE)
_BODY_END = re.compile(r"</body>", re.IGNORECASE)


def language_of(html: str | None) -> Language:
    """The language an e-mail's HTML declares (`<html lang>`), English when it declares none we write."""
    found = _LANG.search(html or "")
    if found:
        code = found.group(1).split("-", 1)[0].lower()
        if code in {language.value for language in Language}:
            return Language(code)
    return Language.EN


def footer_lines(language: Language, *, link: str | None, address: str, mailto: str) -> tuple[str, str]:
    """(HTML, plain text) of the line: the one-click `link` when there is one, else write to `address`."""
    t = catalogue(language)
    if link:
        before, _, after = t["unsubscribe_link"].partition("{link}")
        label = t["unsubscribe_link_label"]
        html = f'{escape(before)}<a href="{escape(link)}">{escape(label)}</a>{escape(after)}'
        return html, f"{before}{label}: {link}{after}"
    before, _, after = t["unsubscribe_mail"].partition("{address}")
    html = f'{escape(before)}<a href="{escape(mailto)}">{escape(address)}</a>{escape(after)}'
    return html, f"{before}{address}{after}"


def place_footer(
    html: str | None, text: str | None, *, link: str | None, address: str, mailto: str
) -> tuple[str | None, str | None]:
    """`html` and `text` with the unsubscribe line in place (each left None when it was None)."""
    line_html, line_text = footer_lines(language_of(html), link=link, address=address, mailto=mailto)
    if html is not None:
        if SLOT in html:
            html = html.replace(SLOT, f"<br><br>{line_html}", 1)
        elif _BODY_END.search(html):
            block = f'<p style="font-size: 12px; color: #6b7280; text-align: center;">{line_html}</p>'
            html = _BODY_END.sub(lambda _m: block + "</body>", html, count=1)
        else:
            html = f"{html}<p>{line_html}</p>"
    if text is not None:
        text = text.rstrip("\n") + "\n\n" + text_wrap(line_text) + "\n"
    return html, text
