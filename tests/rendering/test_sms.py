"""SMS: GSM 03.38 detection, segment counts at the exact boundaries, and the receipt body."""

from __future__ import annotations

import random
from typing import Any

import pytest

from app.demo.wiring import DEMO_PROFILE
from app.domain.channels import Language
from app.domain.intake import parse_sale
from app.domain.receipt import RenderedReceipt
from app.domain.sale import Sale
from app.rendering.i18n import catalogue
from app.rendering.receipts import ReceiptRenderer
from app.rendering.sms import GSM_BASIC, GSM_EXTENSION, encode_info, gsm_fold, segment_count
from app.rendering.summary import build_summary
from app.sandbox.pos import make_sale
from tests.fuzzing import examples

from . import sample_payload


@pytest.fixture(scope="module")
def renderer() -> ReceiptRenderer:
    return ReceiptRenderer()


def test_alphabet_sizes() -> None:
    assert len(GSM_BASIC) == 127  # 128 code points less the escape
    assert frozenset("\f^{}\\[~]|€") == GSM_EXTENSION


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [
        ("", "GSM-7", 0, 0),
        ("a" * 160, "GSM-7", 160, 1),
        ("a" * 161, "GSM-7", 161, 2),
        ("a" * 153 * 2, "GSM-7", 306, 2),
        ("a" * (153 * 2 + 1), "GSM-7", 307, 3),
        ("ó" * 70, "UCS-2", 70, 1),
        ("ó" * 71, "UCS-2", 71, 2),
        ("ó" * 67 * 2, "UCS-2", 134, 2),
        ("ó" * (67 * 2 + 1), "UCS-2", 135, 3),
        ("{" * 80, "GSM-7", 160, 1),
        ("{" * 81, "GSM-7", 162, 2),
        ("a" * 159 + "€", "GSM-7", 161, 2),
        ("a" * 158 + "€", "GSM-7", 160, 1),
        ("[]~\\|^€", "GSM-7", 14, 1),
        ("😀", "UCS-2", 2, 1),
        ("a" * 68 + "😀", "UCS-2", 70, 1),
        ("a" * 69 + "😀", "UCS-2", 71, 2),
    ],
)
def test_encoding_units_and_segments(text: str, encoding: str, units: int, segments: int) -> None:
    assert encode_info(text) == (encoding, units)
    assert segment_count(text) == segments


def test_an_escape_pair_is_never_split_across_parts() -> None:
    text = "a" * 152 + "{" + "a" * 152  # 306 septets, but "{" cannot straddle parts 1 and 2
    assert encode_info(text) == ("GSM-7", 306)
    assert segment_count(text) == 3


def test_a_surrogate_pair_is_never_split_across_parts() -> None:
    text = "a" * 66 + "😀" + "a" * 66  # 134 code units, the emoji cannot straddle parts 1 and 2
    assert encode_info(text) == ("UCS-2", 134)
    assert segment_count(text) == 3


@pytest.mark.parametrize("text", ["Café Colombiano", "Jalapeños", "¿Qué? ¡Ñu!", "Müller à l'Øst", "$5 @ 10% & £2"])
def test_gsm_accents_stay_gsm(text: str) -> None:
    assert encode_info(text)[0] == "GSM-7"
    assert gsm_fold(text) == text


def test_characters_outside_gsm_force_ucs2_and_fold() -> None:
    assert encode_info("Sofía")[0] == "UCS-2"
    assert gsm_fold("Sofía López — “ahorró” 2×…") == 'Sofia Lopez - "ahorro" 2x...'
    assert gsm_fold("Piña") == "Piña"
    assert gsm_fold("Tea 🍵") == "Tea 🍵"  # no GSM-7 form: kept, the message is UCS-2


def render(
    renderer: ReceiptRenderer,
    payload: dict[str, Any],
    language: Language = Language.EN,
    receipt_url: str | None = None,
) -> RenderedReceipt:
    return renderer.render(parse_sale(payload), DEMO_PROFILE, language, receipt_url=receipt_url)


def test_small_basket_sends_every_line(renderer: ReceiptRenderer) -> None:
    sms = render(renderer, sample_payload()).sms
    lines = sms.body.split("\n")
    assert lines[:5] == [
        "ReceiptDesk Demo Market",
        "11/28/25 11:57 PM",
        "Total $25.70",
        "You saved $3.50",
        "Points +25 -100, balance 1,234 (pending)",
    ]
    assert "Bananas 2.35 lb @ $0.59/lb $1.39" in lines
    assert "  Club price -$1.00" in lines
    assert "IL sales tax 6.25% $1.25" in lines
    assert sms.encoding == "GSM-7"
    assert sms.segments == segment_count(sms.body) <= 4


def test_large_basket_sends_a_summary_within_budget(renderer: ReceiptRenderer) -> None:
    sale = parse_sale(make_sale(random.Random(40), sale_id="S-40", items=40))
    for language in Language:
        sms = renderer.render(sale, DEMO_PROFILE, language).sms
        lines = sms.body.split("\n")
        assert sms.segments <= 4
        assert sms.encoding == "GSM-7"
        assert not any(item.name in sms.body for item in sale.items)
        assert lines[-1] in (
            "Full receipt: ask at the service desk",
            "Recibo completo: pregunte en el mostrador de servicio",
        )
        assert "$" + f"{sale.total:,.2f}" in sms.body


def test_summary_points_to_the_receipt_link(renderer: ReceiptRenderer) -> None:
    payload = make_sale(random.Random(41), sale_id="S-41", items=40)
    sms = render(renderer, payload, receipt_url="https://r.example.com/S-41").sms
    assert sms.body.endswith("\nFull receipt: https://r.example.com/S-41")


def test_budget_decides_lines_or_summary() -> None:
    payload = sample_payload()
    full = render(ReceiptRenderer(sms_budget_segments=10), payload).sms
    short = render(ReceiptRenderer(sms_budget_segments=1), payload).sms
    assert "Bananas" in full.body
    assert "Bananas" not in short.body
    assert short.segments <= full.segments
    assert "5 items" in short.body


def whole_lines(sale: Sale, language: Language) -> set[str]:
    """Every line either SMS form can hold, built independently of the templates."""
    s = build_summary(sale, DEMO_PROFILE, language)
    t = catalogue(language)
    lines = {"", s.store.name, s.when_short, f"{t['total']} {s.total}", s.savings, s.item_count}
    lines |= {f"{t['subtotal']} {s.subtotal}", f"{t['deposits']} {s.deposits}", f"{t['tax_short']} {s.tax_total}"}
    lines |= {t["full_receipt"].format(where=t["service_desk"])}
    lines |= {s.loyalty.short} if s.loyalty else set()
    lines |= {f"{line.label} {line.amount}" + (f" {t['taxed_marker']}" if line.taxed else "") for line in s.lines}
    lines |= {f"  {row.label} {row.amount}" for line in s.lines for row in line.savings}
    lines |= {f"  {line.deposit.label} {line.deposit.amount}" for line in s.lines if line.deposit}
    lines |= {f"{t['taxed_marker']} = {t['taxed_legend']}"}
    lines |= {f"{row.label} {row.amount}" for row in s.discounts + s.taxes}
    return {gsm_fold(line) for line in lines}


@pytest.mark.parametrize("language", list(Language))
def test_never_cut_mid_line(renderer: ReceiptRenderer, language: Language) -> None:
    """Every line of any SMS is a whole line of one of the two forms, never a truncated one."""
    rng = random.Random(11)
    for n in range(40):
        sale = parse_sale(make_sale(rng, sale_id=f"S-{n}", items=rng.choice((3, 8, 12, 40))))
        sms = renderer.render(sale, DEMO_PROFILE, language).sms
        assert sms.segments <= 4
        allowed = whole_lines(sale, language)
        assert [line for line in sms.body.split("\n") if line not in allowed] == []


def test_spanish_sms_is_folded_to_gsm(renderer: ReceiptRenderer) -> None:
    sms = render(renderer, sample_payload(), Language.ES).sms
    assert "Usted ahorro $3.50" in sms.body
    assert sms.encoding == "GSM-7"
    exact = render(ReceiptRenderer(sms_ascii_fold=False, sms_budget_segments=10), sample_payload(), Language.ES).sms
    assert "Usted ahorró $3.50" in exact.body
    assert exact.encoding == "UCS-2"


def test_accented_item_names() -> None:
    payload = sample_payload()
    payload["items"][0]["name"] = "Jalapeños"
    payload["items"][1]["name"] = "Piñas de Sofía"
    folded = render(ReceiptRenderer(), payload).sms
    assert "Jalapeños 2.35 lb" in folded.body
    assert "Piñas de Sofia" in folded.body
    assert folded.encoding == "GSM-7"
    exact = render(ReceiptRenderer(sms_ascii_fold=False, sms_budget_segments=10), payload).sms
    assert "Piñas de Sofía" in exact.body
    assert exact.encoding == "UCS-2"


def test_random_sales_stay_gsm7_within_budget(renderer: ReceiptRenderer) -> None:
    rng = random.Random(7)
    for n in range(examples(100)):
        sale = parse_sale(make_sale(rng, sale_id=f"S-{n}"))
        for language in Language:
            sms = renderer.render(sale, DEMO_PROFILE, language).sms
            assert sms.encoding == "GSM-7", sms.body
            assert 1 <= sms.segments <= 4
