"""ESC/POS encoding: the exact bytes a small document becomes, read back from the dummy printer."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.devices.escpos import (
    CODE_PAGE_NUMBER,
    PrinterStatus,
    encode,
    encode_text,
    parse_status,
    qr,
)
from app.devices.printer import DummyPrinter, PrinterNotReady, PrinterUnreachable
from app.domain.printdoc import Align, Barcode, Cut, Feed, PrintDocument, QrCode, QrErrorCorrection, Rule, TextLine

ESC, GS, LF = b"\x1b", b"\x1d", b"\n"


def small_document() -> PrintDocument:
    return PrintDocument(
        (
            TextLine("Market", bold=True, double_height=True, align=Align.CENTER),
            TextLine("Milk", align=Align.LEFT),
            Rule("="),
            Barcode("RD-S1"),
            QrCode("RD-S1", size=4, error_correction=QrErrorCorrection.M),
            Feed(2),
            Cut(feed=3),
        ),
        columns=8,
    )


def expected_bytes() -> bytes:
    return b"".join(
        (
            ESC + b"@",  # initialise
            ESC + b"t" + bytes([19]),  # code page PC858
            ESC + b"a\x01",  # centre
            ESC + b"E\x01",  # bold on
            GS + b"!\x01",  # double height
            b"Market" + LF,
            ESC + b"a\x00",  # left
            ESC + b"E\x00",  # bold off
            GS + b"!\x00",  # normal size
            b"Milk" + LF,
            b"========" + LF,  # a rule spans the columns
            ESC + b"a\x01",
            GS + b"h" + bytes([80]),
            GS + b"w" + bytes([2]),
            GS + b"H" + bytes([2]),
            GS + b"k" + bytes([73, 7]) + b"{BRD-S1",  # CODE128, code set B
            LF,
            GS + b"(k" + bytes([4, 0, 49, 65, 50, 0]),  # QR model 2
            GS + b"(k" + bytes([3, 0, 49, 67, 4]),  # module size 4
            GS + b"(k" + bytes([3, 0, 49, 69, 49]),  # error correction M
            GS + b"(k" + bytes([8, 0, 49, 80, 48]) + b"RD-S1",  # store 5 bytes
            GS + b"(k" + bytes([3, 0, 49, 81, 48]),  # print
            LF,
            ESC + b"d\x02",  # feed two lines
            ESC + b"a\x00",
            GS + b"V" + bytes([66, 90]),  # feed 3 lines (90/180 in) and cut partially
        )
    )


def test_a_small_document_encodes_to_exact_bytes() -> None:
    assert CODE_PAGE_NUMBER == 19
    assert encode(small_document()) == expected_bytes()


def test_the_dummy_printer_records_exactly_what_was_printed() -> None:
    printer = DummyPrinter()
    status = printer.print_job(encode(small_document()))
    assert status is not None and status.problem is None
    assert printer.output == expected_bytes()
    assert printer.queries == [1, 2, 4]  # the status was asked before printing, and is not in the output
    assert printer.jobs == 1


def test_spanish_text_is_sent_in_pc858() -> None:
    assert encode_text("Jalapeño AÑO") == b"Jalape\xa4o A\xa5O"
    assert encode_text("¿Café? ¡Sí! ÁÉÍÓÚ ü") == b"\xa8Caf\x82? \xadS\xa1! \xb5\x90\xd6\xe0\xe9 \x81"
    document = PrintDocument((TextLine("Piña"),), columns=32)
    assert encode(document).endswith(b"Pi\xa4a\n")


def test_characters_missing_from_the_code_page_fall_back_instead_of_failing() -> None:
    assert encode_text("Visa \u2022\u2022\u2022\u2022 1234") == b"Visa **** 1234"
    assert encode_text("Deli \u2014 \u201cfresh\u201d \u0103") == b'Deli - "fresh" a'
    assert encode_text("\u4e2d") == b"?"


def test_qr_store_length_counts_the_header_bytes() -> None:
    data = "x" * 300
    encoded = qr(data)
    store = GS + b"(k" + bytes([(300 + 3) % 256, (300 + 3) // 256, 49, 80, 48])
    assert store + data.encode() in encoded


def test_status_bytes_decode_to_conditions() -> None:
    assert parse_status(0x12, 0x12, 0x12) == PrinterStatus()
    assert parse_status(0x1A, 0x32, 0x72).paper_out
    assert parse_status(0x1A, 0x16, 0x12).cover_open
    assert parse_status(0x12, 0x12, 0x1E).paper_near_end
    assert parse_status(0x12, 0x12, 0x1E).problem is None  # near end still prints
    assert "out of paper" in (parse_status(0x1A, 0x32, 0x72).problem or "")


def test_a_printer_out_of_paper_or_unplugged_prints_nothing() -> None:
    printer = DummyPrinter()
    printer.paper_out()
    with pytest.raises(PrinterNotReady, match="out of paper"):
        printer.print_job(b"hello")
    printer.cover_open()
    with pytest.raises(PrinterNotReady, match="cover is open"):
        printer.print_job(b"hello")
    printer.ready()
    printer.unplug()
    with pytest.raises(PrinterUnreachable, match="does not answer"):
        printer.print_job(b"hello")
    assert printer.output == b"" and printer.jobs == 0
    printer.ready()
    printer.print_job(b"hello")
    assert printer.output == b"hello"


def test_the_dummy_printer_spools_jobs_to_a_file(tmp_path: Path) -> None:
    spool = tmp_path / "printer" / "receipts.escpos"
    printer = DummyPrinter(spool=spool)
    printer.print_job(b"one")
    printer.print_job(b"two")
    assert spool.read_bytes() == b"onetwo"
