"""What a customer's text to the store asks for: stop, start, help, or nothing we answer.

The words are those US carriers and Twilio treat as opt-out, opt-in and help keywords
(twilio.com/docs/messaging/tutorials/advanced-opt-out: STOP, STOPALL, UNSUBSCRIBE, CANCEL, END,
QUIT, REVOKE, OPTOUT; START, YES, UNSTOP; HELP, INFO), plus the Spanish ALTO and PARAR. A text is
a keyword only when it is the keyword alone, in any case, with spaces and punctuation around it
(" Stop. " is, "stop sending me these" is not), as Twilio recognises them
(support.twilio.com/hc/en-us/articles/31560110671259).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from app.domain.channels import Language
from app.domain.text_in import compact


class Keyword(StrEnum):
    """What a keyword text asks for (stored as `inbound_messages.keyword`, with `code` for text-in)."""

    STOP = "stop"
    START = "start"
    HELP = "help"
    CODE = "code"  # a text-in code (app.domain.text_in)


STOP_WORDS = frozenset({"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "ALTO", "PARAR"})
START_WORDS = frozenset({"START", "YES", "UNSTOP"})
HELP_WORDS = frozenset({"HELP", "INFO"})
SPANISH_WORDS = frozenset({"ALTO", "PARAR"})

OPT_OUT_CONFIRMATION = "opt_out_confirmation"
"""The `metadata.kind` of the one text that confirms a STOP: it is queued after the opt-out and must go."""
TEXT_REPLY = "text_reply"
"""The `metadata.kind` of every other automatic answer to a customer's text."""


@dataclass(frozen=True, slots=True)
class ParsedKeyword:
    """A keyword text: what it asks, the word as sent (upper-case), and the language the word is in."""

    keyword: Keyword
    word: str
    language: Language | None  # Spanish for ALTO and PARAR; None when the word says nothing of it


def parse_keyword(body: str) -> ParsedKeyword | None:
    """The keyword `body` is, or None. `STOP ALL` counts as `STOPALL`."""
    word = "".join(compact(body).split())
    language = Language.ES if word in SPANISH_WORDS else None
    for keyword, words in ((Keyword.STOP, STOP_WORDS), (Keyword.START, START_WORDS), (Keyword.HELP, HELP_WORDS)):
        if word in words:
            return ParsedKeyword(keyword, word, language)
    return None
