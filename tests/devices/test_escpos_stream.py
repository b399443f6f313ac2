"""The print-stream reader: same result however the stream is split; commands skipped exactly."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from app.devices.escpos_stream import EscPosStream, ReceiptComplete, StreamEvent, TextLine
from tests.fuzzing import examples

FIXTURES = Path(__file__).parents[1] / "fixtures" / "escpos"
NAMES = ("classic.bin", "compact.bin", "compact_full_card.bin", "classic_track_data.bin")
ESC, GS = b"\x1b", b"\x1d"


def read(chunks: list[bytes]) -> list[StreamEvent]:
    stream = EscPosStream()
    events: list[StreamEvent] = []
    for chunk in chunks:
        events += stream.feed(chunk)
    return events


def receipts(events: list[StreamEvent]) -> list[tuple[str, ...]]:
    return [e.lines for e in events if isinstance(e, ReceiptComplete)]


@pytest.mark.parametrize("name", NAMES)
def test_every_two_way_split_gives_the_same_events(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    whole = read([data])
    assert len(receipts(whole)) == 1
    for at in range(len(data) + 1):
        assert read([data[:at], data[at:]]) == whole, f"split at {at}"


@pytest.mark.parametrize("name", NAMES)
def test_byte_by_byte_and_random_chunks_give_the_same_events(name: str) -> None:
    data = (FIXTURES / name).read_bytes()
    whole = read([data])
    assert read([data[i : i + 1] for i in range(len(data))]) == whole
    rng = random.Random(name)
    for _ in range(20):
        cuts = sorted(rng.sample(range(1, len(data)), 12))
        chunks = [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
        assert read(chunks) == whole


def test_the_classic_receipt_reads_as_printed_text() -> None:
    [lines] = receipts(read([(FIXTURES / "classic.bin").read_bytes()]))
    assert lines[:2] == ("FRESHWAY", "MARKET")  # bold, double-size headers: text only
    assert "BANANAS 2.31 lb @ 0.59/lb  1.36 F" in lines
    assert "JALAPE\u00d1O PEPPERS 1.87 lb @ 2.49/lb  4.66 F" in lines  # code page 437
    assert "VISA ************4242     30.04" in lines
    assert lines[-1] == "THANK YOU FOR SHOPPING FRESHWAY"
    # nothing of the logo, barcodes, QR, bit image or drawer kick leaks into the text
    assert all(ch.isprintable() for line in lines for ch in line)
    assert not any("freshway.example" in line or "4006381333931" in line for line in lines)


def test_the_selected_code_page_decodes_the_text() -> None:
    [lines] = receipts(read([(FIXTURES / "compact.bin").read_bytes()]))
    assert "Caf\u00e9 & Cr\u00e8merie" in lines  # ESC t 16: Windows-1252
    assert read([ESC + b"t\x02" + "\u00c9T\u00c9".encode("cp850") + b"\n"]) == [TextLine("\u00c9T\u00c9")]
    assert read([ESC + b"t\x10\xe9" + ESC + b"@\x82\n"]) == [TextLine("\u00e9\u00e9")]  # ESC @ back to 437


def test_a_raster_image_payload_is_skipped_exactly() -> None:
    payload = bytes([0x0A, 0x1D, 0x56, 0x00, 0x1B, 0x69] * 50)  # LFs and cuts inside the picture
    data = b"BEFORE\n" + GS + b"v0\x00" + bytes((6, 0, 50, 0)) + payload + b"AFTER\n"
    assert read([data]) == [TextLine("BEFORE"), TextLine("AFTER")]


@pytest.mark.parametrize(
    "command",
    [
        ESC + b"!\x38",
        ESC + b"E\x01",
        ESC + b"-\x02",
        ESC + b"a\x01",
        ESC + b"t\x00",
        GS + b"!\x11",
        GS + b"B\x01",
        GS + b"h\x50",
        GS + b"w\x03",
        GS + b"H\x02",
        GS + b"f\x01",
        GS + b"k\x02" + b"4006381333931\x00",
        GS + b"k\x49\x0c{B0042000123",
        GS + b"(k\x0b\x00\x31\x50\x30HELLO\nQR",
        GS + b"(L\x06\x00\x30\x70\x0a\x1d\x0a\x0a",
        GS + b"8L\x04\x00\x00\x00\x30\x0a\x1d\x0a",
        ESC + b"*\x00\x03\x00\x0a\x0a\x0a",
        ESC + b"*\x21\x02\x00\x0a\x0a\x0a\x1d\x56\x00",
        b"\x10\x04\x01",
        ESC + b"p\x00\x19\xfa",
        ESC + b"&\x03\x41\x42\x01\x0a\x0a\x0a\x01\x1d\x1d\x1d",
        ESC + b"D\x08\x10\x00",
        ESC + b"Z\x01",  # unknown: the two prefix bytes go, the rest is text
        GS + b"\x99",
        b"\x1c&",
    ],
)
def test_commands_are_skipped_with_their_arguments(command: bytes) -> None:
    data = b"AB" + command + b"CD\n"
    events = read([data])
    assert events == [TextLine("ABCD")], command
    assert read([data[i : i + 1] for i in range(len(data))]) == events


@pytest.mark.parametrize(
    "cut",
    [GS + b"V\x00", GS + b"V\x01", GS + b"V0", GS + b"V1", GS + b"VA\x03", GS + b"VB\x00", ESC + b"i", ESC + b"m"],
)
def test_each_cut_completes_a_receipt(cut: bytes) -> None:
    events = read([b"ONE\nTWO" + cut + b"THREE\n" + cut])
    assert receipts(events) == [("ONE", "TWO"), ("THREE",)]


def test_garbage_never_raises_and_text_after_it_survives(caplog: pytest.LogCaptureFixture) -> None:
    rng = random.Random(7)
    for _ in range(examples(200)):
        junk = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
        stream = EscPosStream()
        stream.feed(junk)
        stream.feed(b"\x00" * 70000)  # ends any length-prefixed payload the junk began
    stream = EscPosStream()
    assert not caplog.records  # the reader never hit its last-resort exception handler
    stream = EscPosStream()
    stream.feed(ESC + b"Z" + GS + b"\xfe" + b"\x1c\xfe")
    assert stream.feed(b"STILL HERE\n") == [TextLine("STILL HERE")]


def test_an_unterminated_barcode_gives_up_and_keeps_reading() -> None:
    stream = EscPosStream()
    events = stream.feed(GS + b"k\x02" + b"1" * 2000 + b"\nTEXT\n")
    assert events[-1] == TextLine("TEXT")
