"""The set-up checks without a window: what a provider still needs, and the printer's test page."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from app.config.secrets import SecretStore
from app.config.settings import PrinterSettings
from app.demo.wiring import DEMO_PROFILE
from app.devices.printer import DummyPrinter
from app.domain.printdoc import Barcode, Paper, QrCode, SaleCode
from app.rendering.print_receipt import printer_check_page
from app.services.setup import CheckResult, SetupService


def service(secrets: SecretStore, printer: DummyPrinter, http: httpx.AsyncClient) -> SetupService[PrinterSettings]:
    return SetupService(http, secrets.get, lambda _settings: printer)


async def test_a_provider_needs_what_is_neither_typed_nor_stored() -> None:
    stored = SecretStore(env={"RECEIPTDESK_SENDGRID_API_KEY": "SG.stored"}, backend=None)
    async with httpx.AsyncClient() as http:
        nothing = service(SecretStore(env={}), DummyPrinter(), http)
        assert await nothing.missing("sendgrid", {}, {}) == ("API key", "Sender e-mail address")
        assert await nothing.missing("sendgrid", {"from_email": "a@b.example"}, {"api_key": "SG.typed"}) == ()
        assert await service(stored, DummyPrinter(), http).missing("sendgrid", {}, {}) == ("Sender e-mail address",)
        result = await nothing.send_test("sendgrid", {}, {}, "owner@example.com", store_name="Corner Grocer")
        assert result == CheckResult(False, "SendGrid still needs: API key, Sender e-mail address.")


async def test_the_test_page_prints_on_the_printer_or_says_why_not(tmp_path: Path) -> None:
    printer = DummyPrinter(spool=tmp_path / "spool.escpos")
    async with httpx.AsyncClient() as http:
        setup = service(SecretStore(env={}), printer, http)
        done = await setup.print_test_page(
            PrinterSettings(kind="dummy"), DEMO_PROFILE, paper=Paper.MM80, codes=SaleCode.QR
        )
        assert done.ok and printer.jobs == 1 and b"ReceiptDesk printer test" in printer.output
        printer.paper_out()
        refused = await setup.print_test_page(PrinterSettings(), DEMO_PROFILE, paper=Paper.MM58, codes=SaleCode.NONE)
        assert not refused.ok and "paper" in refused.message.lower() and printer.jobs == 1


@pytest.mark.parametrize("paper", list(Paper))
def test_the_test_page_fits_the_paper_and_shows_the_chosen_codes(paper: Paper) -> None:
    page = printer_check_page(DEMO_PROFILE, "2026-11-28 10:15", paper=paper, codes=SaleCode.BOTH)
    assert all(len(line.text) <= paper.columns for line in page.text_lines())
    assert ("1234567890" * 5)[: paper.columns] in page.plain_text()
    assert [type(b) for b in page.blocks if isinstance(b, Barcode | QrCode)] == [Barcode, QrCode]
