"""Preferences, consents and opt-outs flow from one lane through the hub (real PostgreSQL) to the others
(real SQLite lanes): the lanes' feeds pushed with the real push storage, the hub's real batch apply."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

import pytest
from sqlalchemy.orm import Session

from app.domain.channels import Channel
from app.domain.consent import ChannelGroup, ConsentSource
from app.services import consent as consent_service
from app.services.hub import parse_batch
from app.services.hub_pull import apply_page, parse_change
from app.storage import change_feed, consents, customers, hub, hub_profiles, lane_profiles, schema
from app.storage.consents import Grant
from app.storage.database import Database
from tests.storage.pg_cluster import private_cluster, unavailable_reason

pytestmark = pytest.mark.skipif(unavailable_reason() is not None, reason=unavailable_reason() or "")

T = TypeVar("T")
T0 = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)  # stamps are never later than the hub's now
PHONE = "+12175550100"


@pytest.fixture(scope="module")
def hub_db() -> Iterator[Database]:
    with private_cluster() as url:
        database = Database(url)
        schema.upgrade(database.write_engine)
        yield database
        database.close()


def _write(db: Database, fn: Callable[[Session], T]) -> T:
    """Run `fn` in one transaction of `db`'s writer engine, committed before returning."""
    with Session(db.write_engine) as session, session.begin():
        return fn(session)


class Lane:
    def __init__(self, lane_id: str, path: Path) -> None:
        self.lane_id = lane_id
        self.db = Database(f"sqlite:///{path}")
        schema.upgrade(self.db.write_engine)
        _write(self.db, lambda s: change_feed.enable(s, at=T0))
        self.pushed = 0
        self.pulled = 0
        self.ahead = timedelta(0)  # how far this lane's clock runs ahead of the hub's

    def push(self, hub_db: Database) -> None:
        records = self.db.read_sync(lambda s: change_feed.next_batch(s, self.pushed, 1000))
        if not records:
            return
        body = {
            "lane_id": self.lane_id,
            "store_id": "store-1",
            "sent_at": (datetime.now(UTC) + self.ahead).isoformat(),
            "after": self.pushed,
            "records": [r.wire() for r in records],
        }
        batch = parse_batch(body)  # the hub's own reading of the wire
        result = _write(hub_db, lambda s: hub.apply(s, batch, now=datetime.now(UTC)))
        assert isinstance(result, hub.Applied) and not result.parked
        self.pushed = result.acked
        _write(self.db, lambda s: change_feed.acknowledge(s, result.acked, at=datetime.now(UTC)))

    def pull(self, hub_db: Database) -> int:
        found = hub_db.read_sync(lambda s: hub_profiles.changes_after(s, lane_id=self.lane_id, after=self.pulled))
        changes = [parse_change(c.wire()) for c in found]
        last = found[-1].seq if found else self.pulled
        report = _write(
            self.db, lambda s: apply_page(s, changes=changes, last=last, lane_id=self.lane_id, at=datetime.now(UTC))
        )
        self.pulled = last
        return report.applied

    def preference(self, phone: str) -> tuple[tuple[Channel, ...], bool]:
        def read(s: object) -> tuple[tuple[Channel, ...], bool]:
            cid = customers.find(s, loyalty_id=None, email=None, phone=phone)  # type: ignore[arg-type]
            assert cid is not None, "the customer is not known at this lane"
            known = customers.load(s, cid)  # type: ignore[arg-type]
            return known.preferred, known.auto_send

        return self.db.read_sync(read)

    def feed(self) -> int:
        return self.db.read_sync(lane_profiles.feed_rows)


@pytest.fixture
def lanes(tmp_path: Path, hub_db: Database) -> Iterator[tuple[Lane, Lane]]:
    with hub_db.write_engine.begin() as conn:
        conn.exec_driver_sql("TRUNCATE hub_lanes, hub_records, hub_receipts, hub_parked, hub_profile_changes")
    a, b = Lane("store-1/1", tmp_path / "a.db"), Lane("store-1/2", tmp_path / "b.db")
    yield a, b
    a.db.close()
    b.db.close()


def _set_preference(lane: Lane, channels: tuple[Channel, ...], at: datetime, *, grant: bool = False) -> None:
    def job(s: object) -> None:
        cid = customers.upsert(s, now=at, name="Ada", loyalty_id=None, language=None, email=None, phone=PHONE)  # type: ignore[arg-type]
        customers.set_preferences(s, cid, channels, auto_send=True, now=at)  # type: ignore[arg-type]
        if grant:
            words = "Text me my receipts."
            g = Grant(cid, Channel.SMS, PHONE, words, ConsentSource.CUSTOMER_SCREEN, lane="1")
            consents.record(s, g, granted=True, now=at)  # type: ignore[arg-type]

    _write(lane.db, job)


def test_a_preference_and_a_stop_at_one_lane_reach_the_other(lanes: tuple[Lane, Lane], hub_db: Database) -> None:
    a, b = lanes
    _set_preference(a, (Channel.SMS,), T0, grant=True)
    a.push(hub_db)
    before = b.feed()
    assert b.pull(hub_db) >= 2
    # lane B recognises the customer with zero taps: their channel, auto-send, and the grant for the number
    assert b.preference(PHONE) == ((Channel.SMS,), True)
    assert b.db.read_sync(lambda s: consents.covers(s, Channel.SMS, PHONE))
    history = b.db.read_sync(
        lambda s: consents.history(s, customers.find(s, loyalty_id=None, email=None, phone=PHONE) or 0)
    )
    assert [(h.granted, h.source, h.lane, h.text_shown) for h in history] == [
        (True, "customer_screen", "store-1/1", "Text me my receipts.")
    ]
    kinds = b.db.read_sync(lambda s: {r.kind for r in change_feed.next_batch(s, 0, 100)})
    assert b.feed() == before + 2 and kinds == {"customers", "contacts"}  # B's new customer only: nothing pulled
    b.push(hub_db)  # B's copy of the customer goes (its own record now); nothing of the preference or consent
    echoed = hub_db.read_sync(lambda s: hub_profiles.changes_after(s, lane_id=a.lane_id, after=a.pulled))
    assert {c.kind for c in echoed} <= {"customer"}
    a.pull(hub_db)

    # a STOP at lane A: lane B refuses texts to that number from then on
    stop = T0 + timedelta(minutes=5)
    _write(
        a.db,
        lambda s: consent_service.revoke_and_cancel(
            s, PHONE, ChannelGroup.TEXT, via=ConsentSource.CASHIER, actor="cashier-7", now=stop
        ),
    )
    a.push(hub_db)
    assert b.pull(hub_db) >= 1
    assert b.db.read_sync(lambda s: consents.opted_out(s, ChannelGroup.TEXT, PHONE))
    assert b.db.read_sync(lambda s: consents.latest(s, Channel.SMS, PHONE)) is False
    assert b.feed() == before


def _known_at_both(a: Lane, b: Lane, hub_db: Database) -> None:
    """The customer set up at A (SMS, auto-send, a grant) and learnt by B, every change settled."""
    _set_preference(a, (Channel.SMS,), T0, grant=True)
    a.push(hub_db)
    b.pull(hub_db)
    b.push(hub_db)
    a.pull(hub_db)


def _prefer(lane: Lane, channels: tuple[Channel, ...], at: datetime) -> None:
    def job(s: Session) -> None:
        cid = customers.find(s, loyalty_id=None, email=None, phone=PHONE)
        assert cid is not None
        customers.set_preferences(s, cid, channels, auto_send=True, now=at)

    _write(lane.db, job)


def _now() -> datetime:
    """The lane's clock: the one its database's feed triggers read too (`change_feed.at`)."""
    return datetime.now(UTC)


@pytest.mark.parametrize("first", ["later", "earlier"])
def test_two_lanes_change_one_preference_the_later_wins_at_both(
    lanes: tuple[Lane, Lane], hub_db: Database, first: str
) -> None:
    a, b = lanes
    _known_at_both(a, b, hub_db)
    # A chooses WhatsApp at minute 10, B e-mail at minute 20: written, pushed and pulled later first, or not
    changes = [(b, (Channel.EMAIL,), T0 + timedelta(minutes=20)), (a, (Channel.WHATSAPP,), T0 + timedelta(minutes=10))]
    for lane, channels, at in changes if first == "later" else changes[::-1]:
        _prefer(lane, channels, at)
    for lane in (b, a) if first == "later" else (a, b):
        lane.push(hub_db)
    for lane in (a, b) if first == "later" else (b, a):
        lane.pull(hub_db)
    assert a.preference(PHONE) == ((Channel.EMAIL,), True)
    assert b.preference(PHONE) == ((Channel.EMAIL,), True)


def test_a_lane_whose_clock_runs_ahead_does_not_overrule_a_later_choice(
    lanes: tuple[Lane, Lane], hub_db: Database
) -> None:
    a, b = lanes
    _known_at_both(a, b, hub_db)
    # A's clock runs an hour ahead (its pushes measured it): its choice at minute 10 reads minute 70 there
    a.ahead = timedelta(hours=1)
    _write(a.db, lambda s: change_feed.record_skew(s, -3_600_000))
    _prefer(a, (Channel.WHATSAPP,), T0 + timedelta(minutes=70))
    _prefer(b, (Channel.EMAIL,), T0 + timedelta(minutes=20))
    for lane in (a, b):
        lane.push(hub_db)
    for lane in (a, b):
        lane.pull(hub_db)
    assert a.preference(PHONE) == ((Channel.EMAIL,), True)
    assert b.preference(PHONE) == ((Channel.EMAIL,), True)


def test_a_revocation_beats_a_grant_of_the_same_moment(lanes: tuple[Lane, Lane], hub_db: Database) -> None:
    a, b = lanes
    _known_at_both(a, b, hub_db)
    # the number stopped at A a while ago; B has not heard of it yet
    stop = _now() - timedelta(minutes=5)
    _write(a.db, lambda s: consents.opt_out(s, ChannelGroup.TEXT, PHONE, via=ConsentSource.STOP_REPLY, now=stop))
    # then, within the same second: a STOP at B, and the customer says yes again at A (a START), a little later
    _write(
        b.db,
        lambda s: consent_service.revoke(
            s, PHONE, ChannelGroup.TEXT, via=ConsentSource.STOP_REPLY, actor="sms", now=_now()
        ),
    )
    _write(
        a.db,
        lambda s: consent_service.restore(
            s,
            PHONE,
            ChannelGroup.TEXT,
            via=ConsentSource.START_REPLY,
            actor="sms",
            now=_now() + timedelta(milliseconds=5),
            text_shown="START",
        ),
    )
    a.push(hub_db)
    b.push(hub_db)
    a.pull(hub_db)
    b.pull(hub_db)
    for lane in (a, b):
        assert lane.db.read_sync(lambda s: consents.opted_out(s, ChannelGroup.TEXT, PHONE)), lane.lane_id
