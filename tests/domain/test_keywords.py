"""Keyword texts and text-in codes as customers type them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from app.domain.channels import Language
from app.domain.keywords import HELP_WORDS, START_WORDS, STOP_WORDS, Keyword, parse_keyword
from app.domain.text_in import ALPHABET, LENGTH, body_for, code_in, new_code, sms_uri

STOPS = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "ALTO", "PARAR"]


@pytest.mark.parametrize("word", STOPS)
@pytest.mark.parametrize("shape", ["{}", "{lower}", "  {title}  ", "{title}.", "¡{title}!", "\n{lower}\t", '"{}"'])
def test_every_stop_word_in_any_case_with_spaces_and_punctuation_stops(word: str, shape: str) -> None:
    parsed = parse_keyword(shape.format(word, lower=word.lower(), title=word.title()))
    assert parsed is not None and parsed.keyword is Keyword.STOP
    assert parsed.word == word
    assert parsed.language is (Language.ES if word in {"ALTO", "PARAR"} else None)


def test_the_word_lists_are_the_carriers_and_twilios() -> None:
    assert set(STOPS) == STOP_WORDS
    assert {"START", "YES", "UNSTOP"} == START_WORDS and {"HELP", "INFO"} == HELP_WORDS
    assert parse_keyword(" yes! ").keyword is Keyword.START  # type: ignore[union-attr]
    assert parse_keyword("Info?").keyword is Keyword.HELP  # type: ignore[union-attr]
    assert parse_keyword("stop all").word == "STOPALL"  # type: ignore[union-attr]


@pytest.mark.parametrize("body", ["stop sending me these", "please stop", "STOPP", "", "   ", "thanks", "st op it"])
def test_a_sentence_is_not_a_keyword(body: str) -> None:
    assert parse_keyword(body) is None


def test_codes_are_short_random_and_unambiguous() -> None:
    codes = {new_code() for _ in range(500)}
    assert len(codes) == 500
    assert all(len(c) == LENGTH and set(c) <= set(ALPHABET) for c in codes)
    assert not set("0O1IL") & set(ALPHABET)


@pytest.mark.parametrize("body", ["RD K7Q2XM", "rd k7q2xm", " RDK7Q2XM. ", "Rd  K7Q2XM!"])
def test_a_code_is_read_however_it_was_typed(body: str) -> None:
    found = code_in(body)
    assert found is not None and found.code == "K7Q2XM" and found.prefixed


def test_a_bare_code_is_marked_bare_and_other_texts_hold_none() -> None:
    assert code_in("k7q2xm") == code_in("K7Q2XM")
    assert code_in("K7Q2XM").prefixed is False  # type: ignore[union-attr]
    assert code_in("RD K7Q2X0") is None  # 0 is never in a code
    assert code_in("where is my order") is None


def test_the_sms_link_addresses_the_number_with_the_body_on_ios_and_android() -> None:
    uri = sms_uri("+15125550100", body_for("K7Q2XM"))
    assert uri == "sms:+15125550100?&body=RD%20K7Q2XM"
    parts = urlsplit(uri)
    assert parts.scheme == "sms" and parts.path == "+15125550100"
    assert parse_qs(parts.query) == {"body": ["RD K7Q2XM"]}  # Android's reading (RFC 5724)
    assert "&body=RD%20K7Q2XM" in uri  # iOS's
