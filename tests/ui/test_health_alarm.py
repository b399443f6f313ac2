"""The manager's health page: texts to new numbers in the last hour, and the alarm above its threshold."""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import update

from app.domain.channels import Channel
from app.domain.clock import utcnow
from app.domain.delivery import DeliveryState
from app.storage import outbox
from app.storage.database import UnitOfWork
from app.storage.models import DeliveryRow
from app.ui import theme
from tests.ui.conftest import Drive, Kiosk, until

ALARM = "61 texts to new numbers in the last hour (alarm at 60): check the API tokens and the POS."


def texted(count: int) -> Callable[[UnitOfWork], None]:
    """`count` numbers texted for the first time just now, each text delivered."""

    def job(session: UnitOfWork) -> None:
        now = utcnow()
        for index in range(count):
            queued = outbox.new_delivery(
                session,
                receipt_id=None,
                channel=Channel.SMS,
                provider="twilio",
                recipient=f"+1217555{index:04d}",
                now=now,
            )
            done = DeliveryState.DELIVERED.value
            session.execute(update(DeliveryRow).where(DeliveryRow.id == queued.id).values(state=done))

    return job


def test_the_health_page_shows_texts_to_new_numbers_and_raises_the_alarm(drive: Drive) -> None:
    async def body(kiosk: Kiosk) -> None:
        page = kiosk.shell.manager.health
        await until(lambda: page.facts["new_numbers"].text() == "0 in the last hour (alarm above 60)", what="a count")
        assert page.facts["alarm"].text() == "none" and page.facts["alarm"].property("hint") is None

        await kiosk.runtime.db.write(texted(61))
        kiosk.shell.monitor.refresh()
        await until(lambda: page.facts["alarm"].text() == ALARM, what="the alarm on the health page")
        assert page.facts["new_numbers"].text() == "61 in the last hour (alarm above 60)"
        assert page.facts["status"].text().endswith(", with an alarm")
        alarm = page.facts["alarm"]
        assert alarm.property("hint") == "bad" and alarm.palette().color(alarm.foregroundRole()).name() == theme.BAD
        latest = kiosk.shell.monitor.latest
        assert latest is not None and not latest.ok

    drive(body)
