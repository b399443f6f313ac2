"""The exact receipt a customer gets: the rendered email, and the SMS with its segment count."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QPlainTextEdit, QTabWidget, QTextBrowser, QVBoxLayout, QWidget

from app.rendering.inline_images import without_inline_images
from app.services.kiosk import ReceiptPreview


def sms_facts(preview: ReceiptPreview) -> str:
    """`2 segments · GSM-7 · 245 characters`."""
    segments = preview.sms_segments
    return (
        f"{segments} segment{'s' if segments != 1 else ''} \u00b7 {preview.sms_encoding} \u00b7 "
        f"{len(preview.sms_body)} characters"
    )


class ReceiptPreviewView(QTabWidget):
    """Two tabs: the email as rendered HTML (no remote content), and the text message."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Receipt preview")
        self.email = QTextBrowser()
        self.email.setOpenLinks(False)
        self.email.setAccessibleName("Email receipt preview")
        self.subject = QLabel()
        self.subject.setTextFormat(Qt.TextFormat.PlainText)  # the store's name and words, not markup
        self.subject.setWordWrap(True)
        self.subject.setAccessibleName("Email subject")
        email_tab = QWidget()
        email_layout = QVBoxLayout(email_tab)
        email_layout.addWidget(self.subject)
        email_layout.addWidget(self.email, 1)
        self.sms = QPlainTextEdit()
        self.sms.setReadOnly(True)
        self.sms.setAccessibleName("Text message preview")
        self.sms_info = QLabel()
        self.sms_info.setAccessibleName("Text message length")
        self.sms_info.setProperty("muted", True)
        sms_tab = QWidget()
        sms_layout = QVBoxLayout(sms_tab)
        sms_layout.addWidget(self.sms, 1)
        sms_layout.addWidget(self.sms_info)
        self.addTab(email_tab, "&Email preview")
        self.addTab(sms_tab, "Te&xt preview")

    def show_preview(self, preview: ReceiptPreview | None) -> None:
        """Show `preview` (None clears both tabs)."""
        if preview is None:
            self.subject.clear()
            self.email.clear()
            self.sms.clear()
            self.sms_info.clear()
            return
        self.subject.setText(f"Subject: {preview.subject}")
        # The logo and barcode travel as attachments when the e-mail is sent; the preview shows the code's text.
        self.email.setHtml(without_inline_images(preview.html))
        self.sms.setPlainText(preview.sms_body)
        self.sms_info.setText(sms_facts(preview))
