"""The kiosk demo's pace: `--sale-every` is parsed and checked, and the simulated register keeps to it.

The register waits on a clock the test holds: each wait is recorded and ends only when the test
says so, so the test sees exactly how long the register asked to wait between sales.
"""

from __future__ import annotations

import asyncio
import math
from typing import cast

import pytest

from app.cli import _parser
from app.commands import serving
from app.demo.register import DEFAULT_SALE_EVERY, FIRST_SALE_AFTER, MAX_SALE_EVERY, DemoRegister, sale_every
from app.domain.errors import ValidationFailed
from app.main import Runtime
from app.services.checkout import CheckoutService
from tests.conftest import wait_until


class HeldClock:
    """A `sleep` that records each wait and returns only when the test lets time pass."""

    def __init__(self) -> None:
        self.asked: list[float] = []
        self._pending: asyncio.Future[None] | None = None

    async def sleep(self, seconds: float) -> None:
        self._pending = asyncio.get_running_loop().create_future()
        self.asked.append(seconds)
        await self._pending

    def pass_time(self) -> None:
        assert self._pending is not None and not self._pending.done(), "the register is not waiting"
        self._pending.set_result(None)


@pytest.mark.parametrize(("text", "seconds"), [("45", 45.0), ("0", 0.0), ("2.5", 2.5), ("3600", 3600.0)])
def test_the_flag_takes_zero_or_a_pace_up_to_an_hour(text: str, seconds: float) -> None:
    assert _parser().parse_args(["demo", "--sale-every", text]).sale_every == seconds


@pytest.mark.parametrize("text", ["-1", "3601", "1e9", "nan", "inf", "soon", ""])
def test_a_negative_absurd_or_unreadable_pace_is_a_one_line_usage_error(
    text: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        _parser().parse_args(["demo", f"--sale-every={text}"])
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--sale-every" in err and "Traceback" not in err


def test_without_the_flag_the_demo_keeps_its_slow_default() -> None:
    assert _parser().parse_args(["demo"]).sale_every is None  # run_kiosk's default applies
    assert DEFAULT_SALE_EVERY >= 30 and sale_every(str(MAX_SALE_EVERY)) == MAX_SALE_EVERY
    with pytest.raises(ValueError, match="not a pace"):
        sale_every(str(math.nextafter(MAX_SALE_EVERY, math.inf)))


async def test_the_register_rings_up_one_sale_per_pace(runtime: Runtime) -> None:
    clock = HeldClock()
    register = DemoRegister(runtime.checkout, every=45, seed=3, sleep=clock.sleep)
    register.start()
    try:
        await wait_until(lambda: clock.asked == [FIRST_SALE_AFTER])
        assert register.posted == 0  # nothing before the first wait is over
        for sales in (1, 2, 3):
            clock.pass_time()
            await wait_until(lambda n=sales: len(clock.asked) == n + 1)
            assert register.posted == sales and clock.asked[-1] == 45
        assert await runtime.receipts.count() == 3
    finally:
        await register.stop()


async def test_at_pace_zero_a_sale_comes_only_when_asked(runtime: Runtime) -> None:
    clock = HeldClock()
    register = DemoRegister(runtime.checkout, every=0, seed=4, sleep=clock.sleep)
    register.start()
    try:
        assert not [t for t in asyncio.all_tasks() if t.get_name().startswith("demo-register")]
        assert register.posted == 0
        register.ring_up()
        await wait_until(lambda: register.posted == 1)
        assert clock.asked == [] and await runtime.receipts.count() == 1
    finally:
        await register.stop()


def test_a_negative_pace_is_refused_by_the_register_too() -> None:
    with pytest.raises(ValueError, match="0 or more"):
        DemoRegister(cast(CheckoutService, None), every=-1)


def test_the_headless_demo_refuses_a_pace_in_one_line() -> None:
    args = _parser().parse_args(["demo", "--headless", "--sale-every", "5"])
    with pytest.raises(ValidationFailed, match="--sale-every paces the kiosk demo") as refused:
        serving.demo(args)
    assert "\n" not in refused.value.message
