"""Whole receipts: HTML e-mail, plain text, subject, determinism, and many random sales."""

from __future__ import annotations

import random
import re
import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from app.demo.wiring import DEMO_PROFILE
from app.domain.channels import Language
from app.domain.intake import parse_sale
from app.domain.receipt import RenderedReceipt, StoreProfile
from app.rendering.environment import TEMPLATES_DIR
from app.rendering.receipts import ReceiptRenderer
from app.sandbox.pos import make_sale
from tests.fuzzing import examples

from . import TEST_CARD_NUMBER, sample_payload

STORE = replace(DEMO_PROFILE, footer="Returns within 30 days.", preferences_url="https://example.com/prefs?a=1&b=2")
AMOUNT_AT_END = re.compile(r"-?\$[\d,]+\.\d{2}( S)?$")


@pytest.fixture(scope="module")
def renderer() -> ReceiptRenderer:
    return ReceiptRenderer()


def render(
    renderer: ReceiptRenderer, language: Language = Language.EN, store: StoreProfile = STORE, **changes: Any
) -> RenderedReceipt:
    return renderer.render(parse_sale(sample_payload(**changes)), store, language)


def all_forms(receipt: RenderedReceipt) -> str:
    return "\n".join((receipt.subject, receipt.html, receipt.text, receipt.sms.body))


def test_subject(renderer: ReceiptRenderer) -> None:
    assert render(renderer).subject == "Your receipt from ReceiptDesk Demo Market — $25.70"
    assert render(renderer, Language.ES).subject == "Su recibo de ReceiptDesk Demo Market — $25.70"


def test_html_is_inlined_table_layout(renderer: ReceiptRenderer) -> None:
    html = render(renderer).html
    assert "<style" not in html
    assert 'class="card"' in html
    assert 'style="' in html
    assert "max-width: 600px" in html
    assert html.count("<table") >= 4
    assert 'width="600"' in html
    assert "flex" not in html
    assert "grid" not in html
    assert 'role="presentation"' in html
    assert '<html lang="en">' in html


def test_html_shows_every_part(renderer: ReceiptRenderer) -> None:
    html = render(renderer).html
    for expected in (
        "Bananas", "2.35 lb @ $0.59/lb", "$1.39", "Club price", "-$1.00", "IL sales tax 6.25%", "Bottle deposits",
        "$25.70", "You saved $3.50", "1,234 (pending)", "Visa •••• 1111", "$4.30", "SNAP", "2x points on produce",
        "Code: PRODUCE2X", "Expires Dec 5, 2025", "Not your receipt?", "Returns within 30 days.",
        '<a href="https://example.com/prefs?a=1&amp;b=2"',
    ):  # fmt: skip
        assert expected in html, expected


def test_user_text_is_autoescaped(renderer: ReceiptRenderer) -> None:
    payload = sample_payload()
    payload["items"][3]["name"] = "<script>alert(1)</script>"
    store = replace(DEMO_PROFILE, name='Tom & Jerry\'s "Market"', footer="<b>bold</b>")
    receipt = renderer.render(parse_sale(payload), store, Language.EN)
    assert "<script>" not in receipt.html
    assert "<b>bold" not in receipt.html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in receipt.html
    assert "Tom &amp; Jerry" in receipt.html
    assert "<script>alert(1)</script>" in receipt.text  # plain text is not HTML: shown as typed


def test_tenders_show_brand_and_last_four_only(renderer: ReceiptRenderer) -> None:
    for language in Language:
        forms = all_forms(render(renderer, language))
        assert TEST_CARD_NUMBER not in forms
        assert "•••• 1111" in forms
        assert "A1B2C3" in forms  # the authorisation code, as a card slip shows it


def test_spanish_render_has_spanish_strings(renderer: ReceiptRenderer) -> None:
    receipt = render(renderer, Language.ES)
    for expected in ("Usted ahorró $3.50", "1,234 (pendiente)", "Vence el 5 dic 2025", "¿No es su recibo?", "Cambio"):
        assert expected in receipt.html, expected
        assert expected in receipt.text, expected
    assert '<html lang="es">' in receipt.html
    assert "You saved" not in receipt.html
    assert "Not your receipt" not in receipt.text


def test_plain_text_is_aligned(renderer: ReceiptRenderer) -> None:
    text = render(renderer).text
    rows = text.split("\n")
    assert all(len(row) <= 48 for row in rows)
    amounts = [row for row in rows if AMOUNT_AT_END.search(row)]
    assert len(amounts) >= 12
    assert {len(row.removesuffix(" S")) for row in amounts} == {46}
    assert "Bananas 2.35 lb @ $0.59/lb".ljust(46 - 5) + "$1.39 S" in rows
    assert "  Club price".ljust(46 - 6) + "-$1.00" in rows
    assert "TOTAL".ljust(46 - 6) + "$25.70" in rows


def test_plain_text_wraps_long_item_names(renderer: ReceiptRenderer) -> None:
    payload = sample_payload()
    payload["items"][0]["name"] = "Organic Free Range Heirloom Bananas Family Pack"
    text = renderer.render(parse_sale(payload), STORE, Language.EN).text
    rows = text.split("\n")
    first = next(i for i, row in enumerate(rows) if row.startswith("Organic"))
    assert rows[first].endswith("$1.39 S")
    assert len(rows[first]) == 48
    assert rows[first + 1 : first + 3] == ["  Family Pack", "  2.35 lb @ $0.59/lb"]


def test_deterministic_output(renderer: ReceiptRenderer) -> None:
    sale = parse_sale(sample_payload())
    first = renderer.render(sale, STORE, Language.EN)
    again = ReceiptRenderer().render(parse_sale(sample_payload()), STORE, Language.EN)
    assert first == again
    assert first.content_hash == again.content_hash
    assert first.template_version == again.template_version
    assert len(first.template_version) == 12


def test_different_sale_or_language_changes_the_hash(renderer: ReceiptRenderer) -> None:
    base = render(renderer).content_hash
    assert render(renderer, sale_id="S-1002").content_hash != base
    assert render(renderer, Language.ES).content_hash != base


def test_templates_dir_override_and_version(tmp_path: Path) -> None:
    shutil.copytree(TEMPLATES_DIR, tmp_path / "templates")
    copy = ReceiptRenderer(tmp_path / "templates")
    assert copy.template_version == ReceiptRenderer().template_version
    footer = tmp_path / "templates" / "email" / "receipt.txt"
    footer.write_text(footer.read_text(encoding="utf-8") + "Custom footer\n", encoding="utf-8")
    changed = ReceiptRenderer(tmp_path / "templates")
    assert changed.template_version != copy.template_version
    assert render(changed).text.endswith("Custom footer\n")


def test_sandbox_blocks_python_internals(tmp_path: Path) -> None:
    shutil.copytree(TEMPLATES_DIR, tmp_path / "templates")
    html = tmp_path / "templates" / "email" / "receipt.html"
    html.write_text("{{ s.__class__.__mro__ }}{{ s.t._entries }}", encoding="utf-8")
    with pytest.raises(Exception, match=r"unsafe|undefined"):
        render(ReceiptRenderer(tmp_path / "templates"))


def test_unknown_template_variable_fails_loudly(tmp_path: Path) -> None:
    shutil.copytree(TEMPLATES_DIR, tmp_path / "templates")
    (tmp_path / "templates" / "email" / "receipt.txt").write_text("{{ s.no_such_field }}", encoding="utf-8")
    with pytest.raises(Exception, match="no_such_field"):
        render(ReceiptRenderer(tmp_path / "templates"))


def test_random_sales_render_in_both_languages(renderer: ReceiptRenderer) -> None:
    rng = random.Random(2024)
    hashes = set()
    count = examples(200)
    for n in range(count):
        sale = parse_sale(make_sale(rng, sale_id=f"S-{n:04d}"))
        for language in Language:
            receipt = renderer.render(sale, DEMO_PROFILE, language)
            assert receipt.language is language
            assert "<style" not in receipt.html
            assert sale.sale_id in receipt.text
            assert all(len(row) <= 48 for row in receipt.text.split("\n") if AMOUNT_AT_END.search(row))
            assert 1 <= receipt.sms.segments <= 4
            hashes.add(receipt.content_hash)
    assert len(hashes) == 2 * count
