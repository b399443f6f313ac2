"""A SQLite database of many stored receipts, for the search benchmark.

The schema comes from the product's own migrations; the rows are written with sqlite3's executemany in
large transactions (journal off while filling, so a million receipts take a couple of minutes). Sales
carry a store, a lane, a sale id, one card's last four (a few carry two, a few none), and most belong to a
customer with a phone and an email; each such receipt has an email and a text delivery to them, and a few
receipts are texted to a number typed at the till that belongs to no customer.

The filled file is kept in the user's cache folder under a name made of the schema's head revision, the
count and the seed, so a second run starts at once; `fill` returns the facts the benchmark searches for.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import sqlite3
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from sqlalchemy import create_engine

from app.storage import schema

CUSTOMERS_PER_RECEIPT = 0.2  # a customer comes back five times on average
BATCH = 20_000


@dataclass(frozen=True)
class Filled:
    """The file and, for the searches, some of what is in it."""

    path: Path
    receipts: int
    phones: list[str]
    emails: list[str]
    last4s: list[str]
    sale_ids: list[str]
    receipt_ids: list[str]


def cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    folder = Path(base) / "receiptdesk-bench"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def fill(receipts: int, *, seed: int = 18, folder: Path | None = None) -> Filled:
    """A database of `receipts` receipts (made once, then reused from the cache)."""
    head = schema.head_on_disk() or "unknown"
    path = (folder or cache_dir()) / f"receipts-{head}-{receipts}-{seed}.db"
    facts = path.with_suffix(".json")
    if not (path.exists() and facts.exists()):
        for stale in (path, facts):
            stale.unlink(missing_ok=True)
        partial = path.with_suffix(".partial")
        partial.unlink(missing_ok=True)
        found = _write(partial, receipts, seed)
        partial.rename(path)
        facts.write_text(json.dumps(found), encoding="utf-8")
    found = json.loads(facts.read_text(encoding="utf-8"))
    return Filled(path=path, receipts=receipts, **found)


def _write(path: Path, receipts: int, seed: int) -> dict[str, list[str]]:
    engine = create_engine(f"sqlite:///{path}")
    schema.upgrade(engine)
    engine.dispose()
    rng = random.Random(seed)
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=OFF")
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-400000")
    con.execute("UPDATE sync_feed SET enabled = 0")
    start = datetime(2025, 1, 1, tzinfo=UTC).replace(tzinfo=None)
    step = timedelta(days=700) / receipts  # about two years of sales
    customers = max(1, int(receipts * CUSTOMERS_PER_RECEIPT))
    phones = [f"+1{rng.randint(201, 989)}{rng.randint(2_000_000, 9_999_999)}" for _ in range(customers)]
    phones = list(dict.fromkeys(phones))
    domains = ("com", "org", "net")
    emails = [f"{_name(rng, i).replace(' ', '.').lower()}{i}@example.{domains[i % 3]}" for i in range(len(phones))]
    con.execute("BEGIN")
    con.executemany(
        "INSERT INTO customers (id, name, loyalty_id, language, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)",
        ((i + 1, _name(rng, i), f"L{i + 1:09d}", "en", start, start) for i in range(len(phones))),
    )
    con.executemany(
        "INSERT INTO contacts (customer_id, kind, value, created_at) VALUES (?, ?, ?, ?)",
        (
            (i // 2 + 1, kind, (phones, emails)[i % 2][i // 2], start)
            for i, kind in enumerate(("phone", "email") * len(phones))
        ),
    )
    con.execute("COMMIT")
    last4s: list[str] = []
    sale_ids: list[str] = []
    receipt_ids: list[str] = []
    for first in range(0, receipts, BATCH):
        sales, rows, deliveries = [], [], []
        for n in range(first, min(receipts, first + BATCH)):
            at = start + step * n
            lane = f"lane-{n % 4 + 1}"
            sale_id = f"{lane.upper()}-{n // 4 + 1:08d}"
            card = rng.random()
            last4 = f"{rng.randint(0, 9999):04d}"
            cards = None if card < 0.15 else last4 if card < 0.97 else f"{last4},{rng.randint(0, 9999):04d}"
            customer = rng.randrange(len(phones)) if rng.random() < 0.7 else None
            total = rng.randint(150, 25_000)
            payload = json.dumps(
                {"store_id": "store-1", "sale_id": sale_id, "lane": lane, "total": f"{total / 100:.2f}", "lines": 3}
            )
            sales.append(
                (
                    n + 1,
                    "store-1",
                    sale_id,
                    None,
                    lane,
                    f"cashier-{n % 7}",
                    at,
                    "USD",
                    total,
                    cards,
                    payload,
                    hashlib.sha256(payload.encode()).hexdigest(),
                    None if customer is None else customer + 1,
                    "api",
                    at,
                )
            )
            receipt_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
            text = _text(sale_id, total)
            rows.append(
                (
                    receipt_id,
                    n + 1,
                    "en",
                    f"Your receipt {sale_id}",
                    _html(sale_id, total),
                    text,
                    f"Receipt {sale_id}: total ${total / 100:.2f}. Thank you!",
                    "GSM-7",
                    1,
                    hashlib.sha256(text.encode()).hexdigest(),
                    "v1",
                    at,
                )
            )
            if customer is not None:
                deliveries.append(_delivery(rng, receipt_id, "email", "sendgrid", emails[customer], at))
                deliveries.append(_delivery(rng, receipt_id, "sms", "twilio", phones[customer], at))
            elif rng.random() < 0.1:
                typed = f"+1{rng.randint(201, 989)}{rng.randint(2_000_000, 9_999_999)}"
                deliveries.append(_delivery(rng, receipt_id, "sms", "twilio", typed, at))
            if n % 997 == 0:
                sale_ids.append(sale_id)
                receipt_ids.append(receipt_id)
                if cards:
                    last4s.append(last4)
        con.execute("BEGIN")
        con.executemany(
            "INSERT INTO sales (id, store_id, sale_id, order_id, lane, cashier, occurred_at, currency, total,"
            " card_last4, payload, payload_hash, customer_id, source, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            sales,
        )
        con.executemany(
            "INSERT INTO receipts (id, sale_pk, language, subject, html, text, sms_body, sms_encoding, sms_segments,"
            " content_hash, template_version, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        con.executemany(
            "INSERT INTO deliveries (id, receipt_id, channel, provider, recipient, state, attempts,"
            " next_attempt_at, idempotency_key, provider_message_id, created_at, updated_at)"
            " VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)",
            deliveries,
        )
        con.execute("COMMIT")
    con.execute("ANALYZE")
    con.execute("PRAGMA journal_mode=WAL")
    con.close()
    picks = random.Random(seed + 1)
    return {
        "phones": picks.sample(phones, min(200, len(phones))),
        "emails": picks.sample(emails, min(200, len(emails))),
        "last4s": last4s[:200],
        "sale_ids": sale_ids[:200],
        "receipt_ids": receipt_ids[:200],
    }


_FIRST = ("Ana", "Ben", "Chloe", "Dev", "Elif", "Farah", "Goran", "Hana", "Ivan", "Jo", "Kofi", "Lena", "Mateo", "Nia")
_LAST = ("Silva", "Okafor", "Novak", "Lee", "Garcia", "Smith", "Kumar", "Rossi", "Nguyen", "Berg", "Haddad", "Kim")


def _name(rng: random.Random, i: int) -> str:
    return f"{_FIRST[i % len(_FIRST)]} {_LAST[(i // len(_FIRST)) % len(_LAST)]}"


def _delivery(
    rng: random.Random, receipt_id: str, channel: str, provider: str, recipient: str, at: datetime
) -> tuple[object, ...]:
    delivery_id = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    return (
        delivery_id,
        receipt_id,
        channel,
        provider,
        recipient,
        "delivered",
        at,
        f"rd-{delivery_id}",
        f"msg-{delivery_id[:18]}",
        at,
        at,
    )


def _text(sale_id: str, total: int) -> str:
    return (
        f"Corner Store, 12 High Street\nSale {sale_id}\n"
        "Coffee beans 1kg      18.50\nOat milk 1l            2.40\nCroissant x2           4.60\n"
        f"Total                 {total / 100:.2f}\nPaid by card\nThank you for shopping with us.\n"
    )


def _html(sale_id: str, total: int) -> str:
    lines = "".join(
        f'<tr><td class="item">{name}</td><td class="qty">1</td><td class="amount">{price}</td></tr>'
        for name, price in (("Coffee beans 1kg", "18.50"), ("Oat milk 1l", "2.40"), ("Croissant x2", "4.60"))
    )
    return (
        '<!doctype html><html><head><meta charset="utf-8"><title>Receipt</title>'
        "<style>body{font-family:sans-serif}td.amount{text-align:right}</style></head><body>"
        f"<h1>Corner Store</h1><p>12 High Street</p><p>Sale {sale_id}</p><table>{lines}"
        f'<tr><td class="total">Total</td><td></td><td class="amount">{total / 100:.2f}</td></tr></table>'
        "<p>Paid by card. Thank you for shopping with us.</p></body></html>"
    )
