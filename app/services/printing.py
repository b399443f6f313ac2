"""Paper receipts as one more channel: the dispatcher prints through `PrinterAdapter` like it sends e-mail.

A PRINT delivery names its receipt in the message metadata. The adapter loads the recorded sale
and the receipt's language, lays it out for the roll width (`app.rendering.print_receipt`),
encodes it as ESC/POS and writes it to the printer off the event loop, one job at a time.

A printer that is off, unplugged, open or out of paper is a transient failure: the delivery
waits in the outbox with the reason as its last error (the cashier sees it) and is printed once
the printer is back. Each change of the printer's condition is published as `PrinterStatusChanged`.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from typing import ClassVar

from app.devices.escpos import encode
from app.devices.printer import Printer, PrinterError, PrinterNotReady
from app.domain.channels import Channel
from app.domain.doubt import Lookup
from app.domain.errors import PermanentProviderError, TransientProviderError
from app.domain.message import OutboundMessage, SendResult, SendStatus
from app.domain.plugins import SecretField, SettingField
from app.domain.printdoc import Paper, PrintDocument, Raster, SaleCode
from app.domain.receipt import StoreProfile
from app.providers.base import Capabilities
from app.rendering.print_receipt import print_receipt
from app.services.bus import EventBus, PrinterStatusChanged
from app.storage.database import Database
from app.storage.printing import PrintSource, print_source

log = logging.getLogger(__name__)

PRINTER_PROVIDER = "printer"


class PrinterAdapter:
    """The receipt printer as a provider of the PRINT channel."""

    provider_id: ClassVar[str] = PRINTER_PROVIDER
    display_name: ClassVar[str] = "Receipt printer"
    capabilities: ClassVar[Capabilities] = Capabilities(channel=Channel.PRINT)
    secret_fields: ClassVar[tuple[SecretField, ...]] = ()
    setting_fields: ClassVar[tuple[SettingField, ...]] = ()
    default_base_url: ClassVar[str] = ""

    def __init__(
        self,
        db: Database,
        printer: Printer,
        store: StoreProfile,
        *,
        paper: Paper = Paper.MM80,
        codes: SaleCode = SaleCode.BARCODE,
        dpi: int = 203,
        bus: EventBus | None = None,
        logo: Raster | None = None,
    ) -> None:
        self.logo = logo
        """The store's logo, printed atop each receipt (`app.rendering.print_logo`)."""
        self._db = db
        self.printer = printer
        self._store = store
        self.paper = paper
        self.codes = codes
        self.dpi = dpi
        self._bus = bus
        self._lock = asyncio.Lock()
        self.problem: str | None = None
        """Why the printer could not print the last job; None once it printed."""

    async def document(self, *, receipt_id: str | None = None, sale_id: str | None = None) -> PrintDocument:
        """The paper form of a recorded receipt. Raises `PermanentProviderError` when it is not on record."""
        source = await self._source(receipt_id, sale_id)
        return print_receipt(
            source.sale, self._store, source.language, paper=self.paper, codes=self.codes, dpi=self.dpi, logo=self.logo
        )

    async def send(self, message: OutboundMessage) -> SendResult:
        """Print the receipt named in `message.metadata`. Raises `TransientProviderError` when the printer cannot."""
        if message.channel is not Channel.PRINT:
            raise PermanentProviderError(f"The receipt printer cannot send {message.channel.value} messages.")
        receipt_id = message.metadata.get("receipt_id")
        document = await self.document(receipt_id=receipt_id, sale_id=message.metadata.get("sale_id"))
        data = encode(document)
        async with self._lock:  # one job at a time: two receipts must not interleave on the roll
            try:
                await asyncio.to_thread(self.printer.print_job, data)
            except PrinterError as exc:
                self._report(exc.message)
                code = "printer_not_ready" if isinstance(exc, PrinterNotReady) else "printer_unreachable"
                raise TransientProviderError(exc.message, code=code) from exc
            except OSError as exc:
                message_text = f"The receipt printer ({self.printer.name}) failed: {exc}"
                self._report(message_text)
                raise TransientProviderError(message_text, code="printer_unreachable") from exc
        self._report(None)
        return SendResult(f"print-{message.idempotency_key}", SendStatus.DELIVERED, raw_status="printed")

    async def look_up(self, message: OutboundMessage, *, sent_after: datetime) -> Lookup | None:
        """A printer keeps no record of what it printed: it cannot be asked."""
        return None

    async def _source(self, receipt_id: str | None, sale_id: str | None) -> PrintSource:
        if not receipt_id and not sale_id:
            raise PermanentProviderError("A print job must name its receipt.")
        source = await self._db.read(lambda s: print_source(s, receipt_id=receipt_id, sale_id=sale_id))
        if source is None:
            raise PermanentProviderError(f"Receipt {receipt_id or sale_id} is not on record; nothing to print.")
        return source

    def _report(self, problem: str | None) -> None:
        if problem == self.problem:
            return
        self.problem = problem
        if problem:
            log.warning("receipt printer %s: %s", self.printer.name, problem)
        else:
            log.info("receipt printer %s is printing again", self.printer.name)
        if self._bus is not None:
            self._bus.publish(PrinterStatusChanged(self.provider_id, self.printer.name, problem is None, problem))
