"""Settings: the form writes the TOML file and kiosk preferences; secrets need a working keyring."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QFormLayout, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from app.config.secrets import KEYRING_FIX
from app.config.settings import load_settings
from app.domain.channels import Channel, Language
from app.services import devices as device_service
from app.services.kiosk import AccessDenied
from app.storage import audit
from app.ui.prefs import load_prefs, prefs_path
from app.ui.settings.window import SettingsWindow
from tests.ui.conftest import MANAGER, PIN, Drive, Kiosk, from_loop, type_pin, until


def test_settings_are_saved_to_the_file_and_keyring_trouble_is_explained(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        window = await open_settings(kiosk, qtbot)
        providers = window.providers
        await until(lambda: not providers.problem.isHidden(), what="the keyring problem")
        assert providers.problem.text() == KEYRING_FIX
        assert not any(f.isEnabled() for fields in providers.secrets.values() for f in fields.values())

        name = window.store.fields["name"]
        name.clear()
        await from_loop(lambda: qtbot.keyClicks(name, "Corner Grocer"))
        window.store.language.setCurrentIndex(window.store.language.findData(Language.ES))
        sid = providers.settings["twilio"]["account_sid"]
        await from_loop(lambda: qtbot.keyClicks(sid, "AC0123"))
        window.kiosk.idle.setValue(30)
        await from_loop(lambda: qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton))
        await until(lambda: window.result.text().startswith("Saved"), what="the save")

        saved = load_settings(kiosk.config_path, must_exist=True)
        assert saved.store.name == "Corner Grocer"
        assert saved.store.default_language is Language.ES
        assert saved.routing == {Channel.EMAIL: "sendgrid", Channel.SMS: "twilio"}
        assert saved.providers["twilio"]["account_sid"] == "AC0123"
        assert load_prefs(prefs_path(kiosk.config_path)).idle_timeout_s == 30

        [changed] = await kiosk.runtime.db.read(lambda s: audit.recent(s, action="settings.changed"))
        assert changed.actor == MANAGER
        assert changed.detail["keys"] == [
            "providers.twilio.account_sid",
            "store.default_language",
            "store.name",
            "kiosk.idle_timeout_s",
        ]
        assert "Corner Grocer" not in str(changed.detail) and "AC0123" not in str(changed.detail)

        await from_loop(lambda: qtbot.keyClicks(window.kiosk.pin, "9999"))
        await from_loop(lambda: qtbot.keyClicks(window.kiosk.pin_again, "9999"))
        await from_loop(lambda: qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton))
        await until(lambda: "too easy to guess" in window.banner.message, what="the weak PIN to be refused")

        window.kiosk.pin_again.clear()
        await from_loop(lambda: qtbot.keyClicks(window.kiosk.pin_again, "9998"))
        await from_loop(lambda: qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton))
        await until(lambda: "differ" in window.banner.message, what="the PIN mismatch")

        for field in (window.kiosk.pin, window.kiosk.pin_again):
            field.clear()
            await from_loop(lambda field=field: qtbot.keyClicks(field, "739154"))
        await save(window, qtbot)
        assert await kiosk.shell.ctx.manager_lock.unlock(MANAGER, "739154") == MANAGER  # the manager's own PIN
        with pytest.raises(AccessDenied):
            await kiosk.shell.ctx.manager_lock.unlock(MANAGER, PIN)
        [reset] = await kiosk.runtime.db.read(lambda s: audit.recent(s, action="manager.pin_reset"))
        assert (reset.actor, reset.subject) == (MANAGER, f"manager:{MANAGER}")

    drive(body)


async def open_settings(kiosk: Kiosk, qtbot: QtBot) -> SettingsWindow:
    """Unlock the manager view with the PIN and open the settings window."""
    manager = kiosk.shell.manager
    manager.open()
    await type_pin(qtbot, manager, PIN)
    assert manager.unlocked
    manager.sig_settings.emit()
    window = kiosk.shell.settings
    await until(window.isVisible, what="the settings window")
    return window


async def type_into(qtbot: QtBot, field: QLineEdit | QComboBox, text: str) -> None:
    line = field.lineEdit() if isinstance(field, QComboBox) else field
    assert line is not None
    line.clear()
    await from_loop(lambda: qtbot.keyClicks(line, text))


def choose(combo: QComboBox, value: object) -> None:
    index = combo.findData(value)
    assert index >= 0, value
    combo.setCurrentIndex(index)


async def save(window: SettingsWindow, qtbot: QtBot) -> None:
    window.result.clear()
    await from_loop(lambda: qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton))
    await until(lambda: window.result.text().startswith("Saved"), what="the save")


def test_device_settings_are_saved_to_the_file(drive: Drive, qtbot: QtBot, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device_service, "list_serial_ports", lambda: [("/dev/ttyUSB7", "USB-Serial Controller")])

    async def body(kiosk: Kiosk) -> None:
        window = await open_settings(kiosk, qtbot)
        devices = window.devices
        await until(lambda: devices.scanner_port.count() == 1, what="the serial ports to be listed")
        assert devices.scanner_port.itemText(0) == "/dev/ttyUSB7"
        assert devices.scanner_port.currentText() == "/dev/ttyACM0"  # listing keeps what the field holds
        assert "restarts" in devices.note.text()

        devices.scanner_enabled.setChecked(True)
        await type_into(qtbot, devices.scanner_port, "COM3")
        devices.scanner_baud.setValue(115200)
        choose(devices.terminator, "CRLF")
        await type_into(qtbot, devices.loyalty_prefixes, "4000, LC ,")
        await type_into(qtbot, devices.receipt_pattern, r"RCPT:(?P<sale_id>\w+)")
        devices.printer_enabled.setChecked(True)
        choose(devices.printer_kind, "network")
        await type_into(qtbot, devices.printer_host, "192.168.1.60")
        devices.printer_network_port.setValue(9101)
        choose(devices.paper, 58)
        choose(devices.codes, "qr")
        devices.capture_enabled.setChecked(True)
        choose(devices.capture_mode, "tcp")
        devices.listen_port.setValue(9200)
        await type_into(qtbot, devices.capture_printer_host, "192.168.1.51")
        choose(devices.layout_preset, "compact")
        await type_into(qtbot, devices.timezone, "America/Chicago")
        await save(window, qtbot)

        data = tomllib.loads(kiosk.config_path.read_text(encoding="utf-8"))
        assert data["scanner"]["port"] == "COM3"
        assert data["scanner"]["baud"] == 115200
        assert data["scanner"]["terminator"] == "CRLF"
        assert data["printer"]["kind"] == "network"
        assert (data["printer"]["host"], data["printer"]["network_port"]) == ("192.168.1.60", 9101)
        assert (data["capture"]["mode"], data["capture"]["listen_port"]) == ("tcp", 9200)
        assert data["capture"]["layout"]["preset"] == "compact"

        saved = load_settings(kiosk.config_path, must_exist=True)
        assert saved.scanner.enabled and saved.scanner.port == "COM3" and saved.scanner.terminator == "CRLF"
        assert saved.scanner.loyalty_prefixes == ["4000", "LC"]
        assert saved.scanner.receipt_pattern == r"RCPT:(?P<sale_id>\w+)"
        assert saved.printer.enabled and saved.printer.kind == "network" and saved.printer.host == "192.168.1.60"
        assert (saved.printer.network_port, saved.printer.paper, saved.printer.codes) == (9101, 58, "qr")
        assert saved.capture.enabled and saved.capture.mode == "tcp" and saved.capture.listen_port == 9200
        assert saved.capture.printer_host == "192.168.1.51" and saved.capture.timezone == "America/Chicago"
        assert saved.store == kiosk.shell.ctx.file_settings.store  # the other sections are kept

        window.close()
        window.open()  # shows what the file holds now
        assert devices.scanner_port.currentText() == "COM3"
        assert devices.printer_kind.currentData() == "network"
        assert devices.timezone.currentText() == "America/Chicago"

    drive(body)


def test_invalid_device_settings_are_refused_and_nothing_is_written(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        window = await open_settings(kiosk, qtbot)
        devices = window.devices
        await save(window, qtbot)
        before = kiosk.config_path.read_bytes()

        await type_into(qtbot, devices.receipt_pattern, "RCPT:(?P<sale_id>\\w+")
        devices.scanner_baud.setValue(115200)
        await from_loop(lambda: qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton))
        await until(lambda: "regular expression" in window.banner.message, what="the bad pattern to be refused")
        assert "receipt barcode pattern" in window.banner.message
        assert kiosk.config_path.read_bytes() == before

        await type_into(qtbot, devices.receipt_pattern, "RCPT:(?P<sale_id>\\w+)")
        await type_into(qtbot, devices.timezone, "America/Springfield")
        await from_loop(lambda: qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton))
        await until(lambda: "time zone" in window.banner.message, what="the unknown time zone to be refused")
        assert kiosk.config_path.read_bytes() == before

        await type_into(qtbot, devices.timezone, "")
        devices.printer_enabled.setChecked(True)
        choose(devices.printer_kind, "network")
        devices.printer_host.clear()
        await from_loop(lambda: qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton))
        await until(lambda: "printer's address" in window.banner.message, what="the missing printer address")
        assert kiosk.config_path.read_bytes() == before
        assert load_settings(kiosk.config_path).scanner.baud == 9600

    drive(body)


def test_printer_and_capture_fields_follow_the_kind_and_mode(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        window = await open_settings(kiosk, qtbot)
        devices = window.devices

        def shown(form: QFormLayout, *fields: QWidget) -> list[bool]:
            out = []
            for field in fields:
                label = form.labelForField(field)
                assert label is not None
                assert label.isHidden() == field.isHidden()
                out.append(not field.isHidden())
            return out

        printer = (devices.printer_port, devices.printer_baud, devices.printer_host, devices.printer_network_port)
        always = (devices.paper, devices.codes)
        assert devices.printer_kind.currentData() == "serial"
        assert shown(devices.printer_form, *printer, *always) == [True, True, False, False, True, True]
        choose(devices.printer_kind, "network")
        assert shown(devices.printer_form, *printer, *always) == [False, False, True, True, True, True]
        choose(devices.printer_kind, "dummy")
        assert shown(devices.printer_form, *printer, *always) == [False, False, False, False, True, True]
        choose(devices.printer_kind, "serial")
        assert shown(devices.printer_form, *printer) == [True, True, False, False]

        serial = (devices.pos_port, devices.capture_printer_port, devices.capture_baud)
        tcp = (devices.listen_host, devices.listen_port, devices.capture_printer_host, devices.capture_printer_tcp_port)
        assert shown(devices.capture_form, *serial, *tcp) == [True] * 3 + [False] * 4
        choose(devices.capture_mode, "tcp")
        assert shown(devices.capture_form, *serial, *tcp) == [False] * 3 + [True] * 4

    drive(body)


def test_the_store_logo_is_set_from_the_store_page(drive: Drive, qtbot: QtBot) -> None:
    logo = str(Path(__file__).resolve().parents[2] / "resources" / "receiptdesk.png")

    async def body(kiosk: Kiosk) -> None:
        window = await open_settings(kiosk, qtbot)
        field = window.store.fields["logo"]
        assert field.text() == "" and "PNG or SVG" in field.placeholderText()
        await from_loop(lambda: qtbot.keyClicks(field, logo))
        await save(window, qtbot)
        assert load_settings(kiosk.config_path, must_exist=True).store.logo == logo
        field.clear()
        await save(window, qtbot)
        assert load_settings(kiosk.config_path, must_exist=True).store.logo is None  # cleared: no logo

    drive(body)
