"""The status bar's words for what the cashier or the store must fix."""

from __future__ import annotations

from datetime import UTC, datetime

from app.services.health import Health, ProviderHealth
from app.services.printing import PRINTER_PROVIDER
from app.ui.status import current_problem, online_text

EMAIL = ProviderHealth("sendgrid", "ok", 3, 0, 0, None, None)


def test_the_status_bar_says_what_the_printer_said() -> None:
    problem = "The receipt printer is out of paper: load a new roll."
    printer = ProviderHealth(PRINTER_PROVIDER, "failing", 0, 0, 2, problem, datetime.now(UTC))
    health = Health(False, True, 1, 1, 2.0, {"queued": 1}, (EMAIL, printer), problem)
    words, ok = online_text(health)
    assert not ok and words.startswith("Printer: The receipt printer is out of paper")


def test_a_failed_capture_pass_through_comes_first() -> None:
    failed = "failed: the pass-through did not start: could not open port /dev/ttyUSB1"
    health = Health(False, True, 0, 0, None, {}, (EMAIL,), None, capture=failed)
    words, ok = online_text(health)
    assert not ok and "could not open port /dev/ttyUSB1" in words and "may not be printing" in words
    assert online_text(Health(True, True, 0, 0, None, {}, (EMAIL,), None, capture="forwarding")) == ("Online", True)


def test_a_provider_error_is_a_status_only_while_the_provider_is_failing() -> None:
    failed_at = datetime(2026, 12, 3, 15, 0, tzinfo=UTC)
    failing = ProviderHealth("twilio", "failing", 1, 1, 0, "twilio answered 400: bad number", failed_at)
    recovered = ProviderHealth("twilio", "ok", 2, 1, 0, "twilio answered 400: bad number", failed_at)
    down = Health(False, True, 1, 1, 2.0, {"queued": 1}, (EMAIL, failing), "twilio: twilio answered 400: bad number")
    up = Health(True, True, 0, 0, None, {}, (EMAIL, recovered), "twilio: twilio answered 400: bad number")
    assert current_problem(down) == "twilio: twilio answered 400: bad number"
    assert current_problem(up) is None  # the last error is history once twilio sent again
