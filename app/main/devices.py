"""Wiring of the lane's devices: the receipt printer, the barcode scanner and print-stream capture."""

from __future__ import annotations

from pathlib import Path

from app.config.paths import data_dir
from app.config.settings import PrinterSettings, Settings
from app.devices.passthrough import SerialDevice, SerialPassthrough, TcpPassthrough
from app.devices.printer import DummyPrinter, NetworkPrinter, Printer, SerialPrinter
from app.devices.scanner import SerialScanner, parse_terminator
from app.domain.barcodes import BarcodeRules
from app.domain.errors import ConfigurationError
from app.domain.printdoc import Paper, SaleCode
from app.main.database_only import capture_reading
from app.rendering.print_logo import printed_logo
from app.services.bus import EventBus
from app.services.capture import ByteSource, CaptureService
from app.services.checkout import CheckoutService
from app.services.printing import PrinterAdapter
from app.services.scanning import ScanningService
from app.storage.database import Database


def build_capture(
    settings: Settings, db: Database, checkout: CheckoutService, *, listen: bool
) -> tuple[CaptureService, ByteSource | None]:
    """Print-stream capture of `[capture]`; the pass-through only when enabled and `listen` (not for CLI tools)."""
    c = settings.capture
    tz, layout = capture_reading(settings)
    service = CaptureService(db, checkout, layout, name=c.name, store_id=settings.store.id, lane=c.lane, tz=tz)
    if not (c.enabled and listen):
        return service, None
    if c.mode == "tcp":
        return service, TcpPassthrough(c.listen_host, c.listen_port, c.printer_host, c.printer_tcp_port, service.tap)
    pos, printer = SerialDevice(c.pos_port, baudrate=c.baud), SerialDevice(c.printer_port, baudrate=c.baud)
    return service, SerialPassthrough(pos, printer, service.tap, name=service.source)


def build_printer(settings: Settings, db: Database, bus: EventBus, data: str | Path | None) -> PrinterAdapter | None:
    """The PRINT channel's adapter over the `[printer]` device, or None when printing is off.

    A dummy printer appends each receipt's ESC/POS bytes to `spool` (default
    `<data dir>/printer/receipts.escpos`), where a test or a person can look at them.
    """
    p = settings.printer
    if not p.enabled:
        return None
    device = build_printer_device(p, data)
    paper = Paper(p.paper)
    return PrinterAdapter(
        db,
        device,
        settings.store.profile(),
        paper=paper,
        codes=SaleCode(p.codes),
        dpi=p.dpi,
        bus=bus,
        logo=printed_logo(settings.store.logo, paper, p.dpi),  # read once, at start-up
    )


def build_printer_device(p: PrinterSettings, data: str | Path | None) -> Printer:
    """The `[printer]` device (whether or not printing is on): serial, network, or the dummy's spool file."""
    if p.kind == "serial":
        return SerialPrinter(p.port, p.baud, timeout=p.timeout_seconds, check_status=p.check_status)
    if p.kind == "network":
        if not p.host:
            raise ConfigurationError('[printer] kind = "network" needs host = the printer\'s address.')
        return NetworkPrinter(p.host, p.network_port, timeout=p.timeout_seconds, check_status=p.check_status)
    spool = Path(p.spool) if p.spool else data_dir(data) / "printer" / "receipts.escpos"
    return DummyPrinter(spool=spool)


def build_scanning(settings: Settings, bus: EventBus) -> ScanningService:
    """The scanning service of the `[scanner]` settings: classifying rules, and the serial scanner when enabled."""
    sc = settings.scanner
    try:
        rules = BarcodeRules(tuple(sc.loyalty_prefixes), tuple(sc.loyalty_patterns), sc.receipt_pattern)
        terminator = parse_terminator(sc.terminator)
    except ValueError as exc:
        raise ConfigurationError(f"[scanner]: {exc}") from None
    device = SerialScanner(sc.port, baudrate=sc.baud, terminator=terminator) if sc.enabled else None
    return ScanningService(bus, rules, device=device)
