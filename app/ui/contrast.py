"""The high-contrast switch: a checkable action (Ctrl+Shift+H, and a button in the cashier's status bar)
that changes every window's palette at once and remembers the choice in the kiosk preferences."""

from __future__ import annotations

import logging

from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QApplication, QToolButton, QWidget

from app.domain.errors import ReceiptDeskError
from app.ui import theme
from app.ui.context import KioskContext
from app.ui.prefs import save_prefs
from app.ui.tasks import TaskOwner

log = logging.getLogger(__name__)

SHORTCUT = "Ctrl+Shift+H"


class ContrastSwitch(QObject):
    """Owns the "High contrast" action; applies the palette and saves the preference on each toggle."""

    sig_saved = Signal(bool)
    """Fires once the preference is written, with the palette now in use (True: high contrast)."""

    def __init__(self, ctx: KioskContext, owner: QWidget) -> None:
        super().__init__(owner)
        self._ctx = ctx
        self.tasks = TaskOwner(owner, "contrast")
        self.action = QAction("High contrast", self)
        self.action.setCheckable(True)
        self.action.setChecked(ctx.prefs.high_contrast)
        self.action.setShortcut(QKeySequence(SHORTCUT))
        self.action.setToolTip(f"Switch to high-contrast colours ({SHORTCUT})")
        self.action.toggled.connect(self._toggled)

    def attach(self, *windows: QWidget) -> None:
        """Make the shortcut work in each of `windows`."""
        for window in windows:
            window.addAction(self.action)

    def button(self) -> QToolButton:
        """A button bound to the action, for a status bar."""
        button = QToolButton()
        button.setDefaultAction(self.action)
        button.setAccessibleName("High contrast")
        return button

    def _toggled(self, on: bool) -> None:
        app = QApplication.instance()
        if isinstance(app, QApplication):
            theme.apply(app, high=on)
        self.tasks.start(self._save(on), "save_contrast")

    async def _save(self, on: bool) -> None:
        prefs = self._ctx.prefs.with_changes(high_contrast=on)
        try:
            await save_prefs(self._ctx.prefs_path, prefs)
        except ReceiptDeskError as exc:  # the palette stays switched for this session
            log.warning("high-contrast preference not saved: %s", exc.message)
            return
        self._ctx.prefs = prefs
        self.sig_saved.emit(on)
