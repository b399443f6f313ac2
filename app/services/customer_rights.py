"""A customer's rights: find what the store holds about them, give them a copy, forget them.

A customer is found by a phone number or an email address (normalised as at the till). The copy is
two files written side by side: `NAME.json` (every receipt as sent, its deliveries with attempts and
events, the consent ledger, contacts and preferences) and `NAME.html`, the same as a plain printable
page. Forgetting erases contact details and names in one unit of work (`app.storage.erasure`) and
keeps receipts and sales as financial records without personal data; a customer under an active
legal hold is refused, and nothing changes. Each is audited (`customer.found`, `customer.exported`,
`customer.forgotten`), the contact masked, the reason scrubbed of the customer's name and contacts.
"""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from app.domain.channels import Channel
from app.domain.clock import Clock, utcnow
from app.domain.contacts import mask_contact, normalise_email, normalise_phone
from app.domain.delivery import DeliveryState
from app.domain.erasure import Needles
from app.domain.errors import ConfigurationError, NotFound, ReceiptDeskError, ValidationFailed
from app.domain.records import ReceiptSummary
from app.rendering.customer_file import render_customer_file
from app.storage import audit, consents, legal_holds, record_docs
from app.storage.consents import ConsentRecord
from app.storage.database import Database, UnitOfWork
from app.storage.erasure import erase_customer


class LegalHoldApplies(ReceiptDeskError):
    """The customer is under a legal hold: their data may not be erased until it is released."""


@dataclass(frozen=True, slots=True)
class Contact:
    kind: str  # email | phone
    value: str

    @property
    def masked(self) -> str:
        return mask_contact(self.value)


@dataclass(frozen=True, slots=True)
class Hold:
    id: int
    reason: str


@dataclass(frozen=True, slots=True)
class CustomerSummary:
    """A customer found by a contact."""

    customer_id: int
    name: str | None
    contacts: tuple[Contact, ...]
    sales: int
    last_sale_at: datetime | None
    holds: tuple[Hold, ...]


@dataclass(frozen=True, slots=True)
class CustomerView:
    """What the manager's screen shows of one customer."""

    summary: CustomerSummary
    preferences: tuple[tuple[str, bool], ...]
    receipts: tuple[ReceiptSummary, ...]
    consents: tuple[ConsentRecord, ...]


@dataclass(frozen=True, slots=True)
class CustomerExport:
    json_path: Path
    html_path: Path
    customers: int
    receipts: int


@dataclass(frozen=True, slots=True)
class Forgotten:
    customer_ids: tuple[int, ...]
    counts: dict[str, int]


def parse_contact(raw: str) -> Contact:
    """A phone number or an email address as stored (E.164; the address normalised), or `ValidationFailed`."""
    text = raw.strip()
    if not text:
        raise ValidationFailed("Type the customer's phone number or email address.", field="contact")
    if "@" in text:
        return Contact("email", normalise_email(text))
    return Contact("phone", normalise_phone(text))


def export_paths(out: Path) -> tuple[Path, Path]:
    """`out` as the pair of files an export writes: `out` with `.json` and with `.html`."""
    base = out.with_suffix("") if out.suffix.lower() in (".json", ".html", ".htm") else out
    return base.with_name(base.name + ".json"), base.with_name(base.name + ".html")


class CustomerRightsService:
    """Find, export and forget a customer (the CLI's `customers` commands and the manager's Customers tab)."""

    def __init__(self, db: Database, *, store_name: str = "The store", clock: Clock = utcnow) -> None:
        self._db = db
        self._store = store_name
        self._clock = clock

    async def find(self, contact: str, *, actor: str) -> list[CustomerSummary]:
        """The customers (normally one) this phone number or email address belongs to; audited."""
        wanted = parse_contact(contact)
        now = self._clock()

        def job(session: UnitOfWork) -> list[CustomerSummary]:
            found = [_summary(session, i) for i in record_docs.owners_of(session, wanted.kind, wanted.value)]
            detail = {"contact": wanted.masked, "found": [c.customer_id for c in found]}
            audit.append(session, at=now, actor=actor, action="customer.found", subject="customers", detail=detail)
            return found

        return await self._db.write(job)

    async def view(self, customer_id: int) -> CustomerView:
        """One customer's receipts, preferences and consent history, for the manager's screen."""

        def job(session: UnitOfWork) -> CustomerView:
            summary = _summary(session, customer_id)
            docs = list(record_docs.customer_receipts(session, customer_id))
            listed = tuple(_receipt_summary(d) for d in reversed(docs))  # newest first
            prof = record_docs.profile(session, customer_id)
            return CustomerView(
                summary=summary,
                preferences=prof.preferences if prof else (),
                receipts=listed,
                consents=tuple(consents.history(session, customer_id)),
            )

        return await self._db.read(job)

    async def export(self, contact: str, out: Path, *, actor: str) -> CustomerExport:
        """Write the customer's file as `out`.json and `out`.html; audited. `NotFound` when no customer has it."""
        wanted = parse_contact(contact)
        made_at = self._clock()
        json_path, html_path = export_paths(out)

        def gather(session: UnitOfWork) -> dict[str, Any]:
            ids = record_docs.owners_of(session, wanted.kind, wanted.value)
            return {
                "store": self._store,
                "made_at": made_at.isoformat(timespec="seconds"),
                "asked_for": wanted.value,
                "customers": [_customer_doc(session, i) for i in ids],
            }

        document = await self._db.read(gather)
        if not document["customers"]:
            raise NotFound(_nobody(wanted))
        await asyncio.to_thread(_write_pair, document, json_path, html_path)
        count = sum(len(c["receipts"]) for c in document["customers"])
        ids = [c["customer_id"] for c in document["customers"]]
        detail = {"contact": wanted.masked, "customers": ids, "receipts": count, "file": json_path.name}
        await self._db.write(
            lambda s: audit.append(
                s, at=self._clock(), actor=actor, action="customer.exported", subject=_subject(ids), detail=detail
            )
        )
        return CustomerExport(json_path, html_path, len(ids), count)

    async def forget(self, contact: str, *, reason: str, actor: str) -> Forgotten:
        """Erase the customer's contact details and name, keeping receipts as records without them; audited.

        Raises `LegalHoldApplies` (nothing changes) when an active legal hold covers the customer,
        `NotFound` when no customer has this contact, `ValidationFailed` without a reason.
        """
        wanted = parse_contact(contact)
        if not reason.strip():
            raise ValidationFailed("Say why the customer's data is erased (the reason is kept in the audit log).")
        now = self._clock()

        def job(session: UnitOfWork) -> Forgotten:
            ids = record_docs.owners_of(session, wanted.kind, wanted.value)
            if not ids:
                raise NotFound(_nobody(wanted))
            for customer_id in ids:
                holds = legal_holds.covering_customer(session, customer_id)
                if holds:
                    hold = holds[0]
                    raise LegalHoldApplies(
                        f"Nothing was erased: customer {customer_id} is under legal hold {hold.id} "
                        f"({hold.reason}); release the hold first."
                    )
            needles = _needles(session, ids, wanted)
            totals: dict[str, int] = {}
            for customer_id in ids:
                counts = erase_customer(session, customer_id, now=now)
                for table, n in counts.items():
                    totals[table] = totals.get(table, 0) + n
                detail = {"contact": wanted.masked, "reason": needles.scrub(reason.strip()), "counts": counts}
                audit.append(
                    session, at=now, actor=actor, action="customer.forgotten", subject=f"customer:{customer_id}",
                    detail=detail,
                )  # fmt: skip
            return Forgotten(tuple(ids), totals)

        return await self._db.write(job)


def _nobody(wanted: Contact) -> str:
    what = "email address" if wanted.kind == "email" else "phone number"
    return f"No customer is recorded with that {what} ({wanted.masked})."


def _subject(ids: list[int]) -> str:
    return f"customer:{ids[0]}" if len(ids) == 1 else "customers"


def _summary(session: UnitOfWork, customer_id: int) -> CustomerSummary:
    prof = record_docs.profile(session, customer_id)
    if prof is None:
        raise NotFound(f"There is no customer {customer_id}.")
    return CustomerSummary(
        customer_id=prof.id,
        name=prof.name,
        contacts=tuple(Contact(k, v) for k, v in prof.contacts),
        sales=prof.sales,
        last_sale_at=prof.last_sale_at,
        holds=tuple(Hold(h.id, h.reason) for h in legal_holds.covering_customer(session, customer_id)),
    )


def _needles(session: UnitOfWork, ids: list[int], wanted: Contact) -> Needles:
    names: list[str | None] = []
    emails: list[str | None] = [wanted.value] if wanted.kind == "email" else []
    phones: list[str | None] = [wanted.value] if wanted.kind == "phone" else []
    for customer_id in ids:
        prof = record_docs.profile(session, customer_id)
        if prof is None:
            continue
        names += [prof.name, prof.loyalty_id]
        emails += [v for k, v in prof.contacts if k == "email"]
        phones += [v for k, v in prof.contacts if k == "phone"]
    return Needles.of(names=names, emails=emails, phones=phones)


def _customer_doc(session: UnitOfWork, customer_id: int) -> dict[str, Any]:
    prof = record_docs.profile(session, customer_id)
    assert prof is not None  # found by owners_of in the same read
    return {
        "customer_id": prof.id,
        "name": prof.name,
        "loyalty_id": prof.loyalty_id,
        "language": prof.language,
        "created_at": prof.created_at.isoformat(),
        "contacts": [{"kind": k, "value": v} for k, v in prof.contacts],
        "preferences": [{"channel": c, "auto_send": a} for c, a in prof.preferences],
        "app_devices": record_docs.app_device_docs(session, customer_id),
        "consents": record_docs.consent_docs(session, customer_id=customer_id),
        "receipts": list(record_docs.customer_receipts(session, customer_id)),
    }


def _receipt_summary(doc: dict[str, Any]) -> ReceiptSummary:
    sale = doc["sale"]
    deliveries = doc["deliveries"]
    return ReceiptSummary(
        receipt_id=doc["receipt_id"],
        sale_id=sale["sale_id"],
        store_id=sale["store_id"],
        lane=sale["lane"],
        occurred_at=datetime.fromisoformat(sale["occurred_at"]),
        total=Decimal(sale["total"]),
        created_at=datetime.fromisoformat(doc["created_at"]),
        channels=tuple(Channel(d["channel"]) for d in deliveries),
        recipients=tuple(d["recipient"] for d in deliveries),
        states=tuple(DeliveryState(d["state"]) for d in deliveries),
    )


def _write_pair(document: dict[str, Any], json_path: Path, html_path: Path) -> None:
    """Both files, each under its name only when complete."""
    page = render_customer_file(document)
    for path, text in ((json_path, json.dumps(document, indent=2, ensure_ascii=False)), (html_path, page)):
        partial = path.with_name(path.name + ".partial")
        try:
            with partial.open("w", encoding="utf-8") as handle:
                handle.write(text)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(partial, path)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise ConfigurationError(f"Cannot write {path.parent}: {exc.strerror}. Choose another folder.") from None
