"""Lanes' batches as `docs/hub.md` spells them, for the hub's tests."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

AT = datetime(2026, 12, 5, 9, 30, tzinfo=UTC)


def record(seq: int, kind: str, key: str, data: dict[str, Any] | None, op: str = "upsert") -> dict[str, Any]:
    return {
        "seq": seq,
        "kind": kind,
        "key": key,
        "op": op,
        "at": (AT + timedelta(seconds=seq)).isoformat(),
        "data": data,
    }


def batch(lane: str, after: int, records: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {
        "lane_id": lane,
        "store_id": lane.split("/")[0],
        "version": "0.9.0",
        "sent_at": datetime.now(UTC).isoformat(),
        "after": after,
        "records": records,
        **extra,
    }


def sale_records(first_seq: int, n: int, *, customer: int | None = 7, lane: str = "1") -> list[dict[str, Any]]:
    """A sale and its receipt per number: `2 * n` records from `first_seq`."""
    out: list[dict[str, Any]] = []
    seq = first_seq
    for i in range(n):
        pk = first_seq + i
        sale = {
            "id": pk,
            "store_id": "store-1",
            "sale_id": f"S-{pk}",
            "lane": lane,
            "occurred_at": (AT + timedelta(minutes=i)).isoformat(),
            "total": "12.34",
            "card_last4": "4242",
            "customer_id": customer,
            "currency": "USD",
        }
        out.append(record(seq, "sales", str(pk), sale))
        out.append(record(seq + 1, "receipts", f"r-{pk}", {"id": f"r-{pk}", "sale_pk": pk, "language": "en"}))
        seq += 2
    return out


def customer_records(first_seq: int, *, customer: int = 7, phone: str = "+12175550100") -> list[dict[str, Any]]:
    return [
        record(first_seq, "customers", str(customer), {"id": customer, "name": "Ana", "loyalty_id": None}),
        record(first_seq + 1, "contacts", "70", {"id": 70, "customer_id": customer, "kind": "phone", "value": phone}),
    ]
