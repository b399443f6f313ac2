"""One attempt's fate in words, the same on the command line and in the manager's timeline.

`#2 in doubt → found at Twilio, not sent again`, `#3 sent — possible duplicate`, `#2 in doubt → dropped by
Ana Lee`: what the attempt did, and, for one whose answer never came, how the doubt was settled.
"""

from __future__ import annotations

from collections.abc import Callable

from app.domain.doubt import AttemptOutcome, SettledBy
from app.domain.records import AttemptRecord
from app.domain.tracking import EventKind

OUTCOME_WORDS: dict[str, str] = {
    AttemptOutcome.SENDING: "sending, no answer yet",
    AttemptOutcome.IN_DOUBT: "in doubt",
    AttemptOutcome.SENT: "sent",
    AttemptOutcome.DELIVERED: "delivered",
    AttemptOutcome.TRANSIENT: "failed for now",
    AttemptOutcome.PERMANENT: "refused",
    AttemptOutcome.UNKNOWN: "no answer in time",
    AttemptOutcome.SKIPPED: "skipped, nothing sent",
}


def outcome_words(outcome: str) -> str:
    """An attempt's outcome as staff read it (an outcome this version does not know, as stored)."""
    return OUTCOME_WORDS.get(outcome, outcome.replace("_", " "))


def settlement_words(attempt: AttemptRecord, name: Callable[[str], str] = str) -> str | None:
    """How the doubt over `attempt` was settled, or None when there was none to settle.

    `name` turns a provider id into the name people know it by (`twilio` → `Twilio`).
    """
    by, who = attempt.settled_by, attempt.settled_actor
    match by:
        case None:
            return "waiting to be settled" if attempt.outcome == AttemptOutcome.IN_DOUBT else None
        case SettledBy.LOOKUP_FOUND:
            return f"found at {name(attempt.provider)}, not sent again"
        case SettledBy.LOOKUP_NOT_FOUND:
            return f"not found at {name(attempt.provider)}, sent again"
        case SettledBy.RESENT:
            return f"{name(attempt.provider)} cannot be asked, sent again as a possible duplicate"
        case SettledBy.HELD:
            return f"{name(attempt.provider)} cannot be asked, held for a manager"
        case SettledBy.SENT_BY_MANAGER:
            return f"sent again by {who}" if who else "sent again by a manager"
        case SettledBy.DROPPED:
            return f"dropped by {who}" if who else "dropped by a manager"
    return str(by).replace("_", " ")


def attempt_fate(attempt: AttemptRecord, name: Callable[[str], str] = str) -> str:
    """`in doubt → found at Twilio, not sent again`, `sent — possible duplicate`, `refused 400`."""
    words = outcome_words(attempt.outcome)
    if attempt.status_code:
        words += f" {attempt.status_code}"
    settled = settlement_words(attempt, name)
    if settled is not None:
        words += f" \u2192 {settled}"
    if attempt.possible_duplicate:
        words += " \u2014 possible duplicate"
    return words


def attempt_line(attempt: AttemptRecord, name: Callable[[str], str] = str) -> str:
    """`#2 in doubt → found at Twilio, not sent again`."""
    return f"#{attempt.number} {attempt_fate(attempt, name)}"


STATUS_ANSWER_WORDS: dict[EventKind, str] = {
    EventKind.DELIVERED: "delivered",
    EventKind.OPENED: "delivered (opened)",
    EventKind.CLICKED: "delivered (clicked)",
    EventKind.BOUNCED: "bounced",
    EventKind.UNDELIVERED: "undelivered",
    EventKind.DROPPED: "failed, not delivered",
    EventKind.ACCEPTED: "still sent, no final status yet",
    EventKind.DEFERRED: "still sent, delivery delayed",
    EventKind.SPAM_REPORT: "reported as spam",
    EventKind.UNSUBSCRIBED: "unsubscribed",
}


def status_check_words(provider_name: str, kind: EventKind, raw_status: str, detail: str | None = None) -> str:
    """`status checked at Twilio: delivered`, `status checked at Mailgun: bounced (550 no such user)`."""
    words = STATUS_ANSWER_WORDS.get(kind)
    if words is None:
        words = "no such message" if raw_status == "not found" else f"answered {raw_status}"
    line = f"status checked at {provider_name}: {words}"
    return f"{line} ({detail})" if detail and detail != raw_status else line


def status_check_given_up_words(provider_name: str, tries: int) -> str:
    """`status checked at Twilio: no answer after 3 tries, not asked again`."""
    return f"status checked at {provider_name}: no answer after {tries} tries, not asked again"
