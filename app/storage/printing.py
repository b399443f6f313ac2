"""What a paper receipt is printed from: the recorded sale and the receipt's language."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.domain.channels import Language
from app.domain.intake import stored_sale
from app.domain.sale import Sale
from app.storage.models import ReceiptRow, SaleRow


@dataclass(frozen=True, slots=True)
class PrintSource:
    receipt_id: str
    sale: Sale
    language: Language


def print_source(session: Session, *, receipt_id: str | None = None, sale_id: str | None = None) -> PrintSource | None:
    """The sale and language of a receipt, by receipt id or (the newest receipt of) a sale id; None if unknown."""
    query = select(ReceiptRow.id, ReceiptRow.language, SaleRow.payload).join(SaleRow, SaleRow.id == ReceiptRow.sale_pk)
    if receipt_id is not None:
        query = query.where(ReceiptRow.id == receipt_id)
    elif sale_id is not None:
        query = query.where(SaleRow.sale_id == sale_id).order_by(ReceiptRow.created_at.desc()).limit(1)
    else:
        raise ValueError("a receipt id or a sale id is needed")
    row = session.execute(query).first()
    if row is None:
        return None
    language = Language(row.language) if row.language in {lang.value for lang in Language} else Language.EN
    return PrintSource(row.id, stored_sale(row.payload), language)
