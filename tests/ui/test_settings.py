"""Settings: the form writes the TOML file and kiosk preferences; secrets need a working keyring."""

from __future__ import annotations

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from app.config.secrets import KEYRING_FIX
from app.config.settings import load_settings
from app.domain.channels import Channel, Language
from app.ui.prefs import load_prefs, prefs_path
from tests.ui.conftest import Drive, Kiosk, until


def test_settings_are_saved_to_the_file_and_keyring_trouble_is_explained(drive: Drive, qtbot: QtBot) -> None:
    async def body(kiosk: Kiosk) -> None:
        manager = kiosk.shell.manager
        manager.open()
        for digit in "2468":
            qtbot.mouseClick(manager.pin.pad.keys[digit], Qt.MouseButton.LeftButton)
        qtbot.keyClick(manager.pin.field, Qt.Key.Key_Return)
        assert manager.unlocked
        manager.sig_settings.emit()
        window = kiosk.shell.settings
        await until(window.isVisible, what="the settings window")
        providers = window.providers
        await until(lambda: not providers.problem.isHidden(), what="the keyring problem")
        assert providers.problem.text() == KEYRING_FIX
        assert not any(f.isEnabled() for fields in providers.secrets.values() for f in fields.values())

        name = window.store.fields["name"]
        name.clear()
        qtbot.keyClicks(name, "Corner Grocer")
        window.store.language.setCurrentIndex(window.store.language.findData(Language.ES))
        sid = providers.settings["twilio"]["account_sid"]
        qtbot.keyClicks(sid, "AC0123")
        window.kiosk.idle.setValue(30)
        qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton)
        await until(lambda: window.result.text().startswith("Saved"), what="the save")

        saved = load_settings(kiosk.config_path, must_exist=True)
        assert saved.store.name == "Corner Grocer"
        assert saved.store.default_language is Language.ES
        assert saved.routing == {Channel.EMAIL: "sendgrid", Channel.SMS: "twilio"}
        assert saved.providers["twilio"]["account_sid"] == "AC0123"
        assert load_prefs(prefs_path(kiosk.config_path)).idle_timeout_s == 30

        qtbot.keyClicks(window.kiosk.pin, "9999")
        qtbot.keyClicks(window.kiosk.pin_again, "9999")
        qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton)
        await until(lambda: window.banner.message == KEYRING_FIX, what="the keyring fix to be shown")

        window.kiosk.pin_again.clear()
        qtbot.keyClicks(window.kiosk.pin_again, "9998")
        qtbot.mouseClick(window.save_button, Qt.MouseButton.LeftButton)
        await until(lambda: "differ" in window.banner.message, what="the PIN mismatch")

    drive(body)
