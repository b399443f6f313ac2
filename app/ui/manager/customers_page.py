"""A customer's rights on the manager's screen: find them by phone or email, see what is held, export, forget.

The page shows the customer's receipts, their contacts (masked until the manager reveals one) and the
consent ledger: every grant and revocation with the words shown, how it came, where, by whom and when.
"Stop texts" and "Stop emails" revoke at once in the manager's name; Export writes the customer's
file (JSON and a printable page); Forget asks for a reason and a second click, then says what it did.
Every call runs as a task of the window: the event loop never waits on the database or the disk.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from app.domain.channels import Channel
from app.domain.consent import ChannelGroup, ConsentSource
from app.domain.errors import ValidationFailed
from app.services.consent import ConsentService
from app.services.customer_rights import Contact, CustomerRightsService, CustomerSummary, CustomerView
from app.ui import theme
from app.ui.formatting import channel_word, date_time, money, state_word
from app.ui.tasks import TaskOwner, busy

RECEIPT_COLUMNS = ("When", "Sale", "Lane", "Total", "Sent")
CONSENT_COLUMNS = ("When", "What", "Channel", "Contact", "How", "Lane", "Staff", "Words shown")
SOURCES = {
    "customer_screen": "Customer screen",
    "staff": "Entered by staff",
    "register": "At the register",
    "text_in": "Customer texted in",
    "stop_reply": "STOP reply",
    "start_reply": "START reply",
    "email_link": "Email unsubscribe link",
    "email_reply": "Email unsubscribe reply",
    "cashier": "Cashier",
    "manager": "Manager",
}


def _table(columns: tuple[str, ...], name: str) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(columns)
    table.setAccessibleName(name)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.verticalHeader().hide()
    table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
    table.horizontalHeader().setSectionResizeMode(len(columns) - 1, QHeaderView.ResizeMode.Stretch)
    table.setTabKeyNavigation(False)
    return table


def _channel(value: str) -> str:
    try:
        return channel_word(Channel(value))
    except ValueError:
        return value


def _heading(text: str) -> QLabel:
    label = QLabel(text)
    theme.set_font(label, 1.1, bold=True)
    return label


class CustomersPage(QWidget):
    """Search, the customer found, their receipts and consents, and the four actions."""

    sig_forgotten = Signal()
    """Fires after a customer was forgotten (their receipts elsewhere now show no contact)."""

    def __init__(
        self,
        rights: CustomerRightsService,
        consent: ConsentService | None,
        tasks: TaskOwner,
        *,
        actor: Callable[[], str],
        export_dir: Path,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self._rights = rights
        self._consent = consent
        self.tasks = tasks
        self._actor = actor
        self._export_dir = export_dir
        self.found: list[CustomerSummary] = []
        self.view: CustomerView | None = None
        self.asked = ""  # the contact the manager searched for, as typed
        self.revealed: set[str] = set()
        self._dialog: QFileDialog | None = None

        intro = QLabel(
            "Find a customer by the phone number or email address they give you, to show them what the "
            "store holds about them, export it for them, stop their texts or emails, or forget them."
        )
        intro.setWordWrap(True)
        self.query = QLineEdit()
        self.query.setAccessibleName("Customer's phone or email")
        self.query.setPlaceholderText("Phone number or email address")
        self.query.returnPressed.connect(self.search)
        self.find_button = QPushButton("&Find")
        self.find_button.setProperty("primary", True)
        self.find_button.clicked.connect(self.search)
        self.choice = QComboBox()
        self.choice.setAccessibleName("Customers found")
        self.choice.currentIndexChanged.connect(self._chosen)
        self.choice.hide()
        search = QHBoxLayout()
        search.addWidget(self.query, 1)
        search.addWidget(self.find_button)
        search.addWidget(self.choice)

        self.notice = QLabel()
        self.notice.setTextFormat(Qt.TextFormat.PlainText)
        self.notice.setWordWrap(True)
        self.notice.setAccessibleName("What was just done")
        self.who = QLabel()
        self.who.setTextFormat(Qt.TextFormat.PlainText)
        self.who.setAccessibleName("Customer")
        theme.set_font(self.who, 1.3, bold=True)
        self.facts = QLabel()
        self.facts.setTextFormat(Qt.TextFormat.PlainText)
        self.facts.setWordWrap(True)
        self.held = QLabel()
        self.held.setTextFormat(Qt.TextFormat.PlainText)
        self.held.setWordWrap(True)
        theme.hint(self.held, "warn", bold=True)
        self.contacts = QWidget()
        self.contacts.setAccessibleName("Contacts")
        self._contact_rows = QVBoxLayout(self.contacts)
        self._contact_rows.setContentsMargins(0, 0, 0, 0)

        self.stop_texts = QPushButton("Stop &texts")
        self.stop_texts.clicked.connect(lambda: self.tasks.start(self.stop(ChannelGroup.TEXT), "stop-texts"))
        self.stop_emails = QPushButton("Stop e&mails")
        self.stop_emails.clicked.connect(lambda: self.tasks.start(self.stop(ChannelGroup.EMAIL), "stop-emails"))
        self.export_button = QPushButton("&Export\u2026")
        self.export_button.clicked.connect(self._choose_file)
        self.forget_button = QPushButton("F&orget\u2026")
        self.forget_button.clicked.connect(self.ask_reason)
        actions = QHBoxLayout()
        for button in (self.stop_texts, self.stop_emails, self.export_button, self.forget_button):
            actions.addWidget(button)
        actions.addStretch(1)
        self.progress = QProgressBar()
        self.progress.setAccessibleName("Export progress")
        self.progress.setTextVisible(False)
        self.progress.hide()

        self.forget_label = QLabel()
        self.forget_label.setWordWrap(True)
        self.reason = QLineEdit()
        self.reason.setAccessibleName("Reason for forgetting")
        self.reason.setPlaceholderText("Why (kept in the audit log), e.g. asked at the service desk")
        self.reason.returnPressed.connect(self._confirm_forget)
        self.confirm = QPushButton("Forget for &good")
        self.confirm.clicked.connect(self._confirm_forget)
        self.cancel = QPushButton("Cancel")
        self.cancel.clicked.connect(self.cancel_forget)
        self.forget_form = QWidget()
        form = QVBoxLayout(self.forget_form)
        form.setContentsMargins(0, 0, 0, 0)
        form.addWidget(self.forget_label)
        row = QHBoxLayout()
        row.addWidget(self.reason, 1)
        row.addWidget(self.confirm)
        row.addWidget(self.cancel)
        form.addLayout(row)
        self.forget_form.hide()

        self.receipts = _table(RECEIPT_COLUMNS, "Customer's receipts")
        self.consents = _table(CONSENT_COLUMNS, "Consent history")
        self.consents.setWordWrap(True)

        self.details = QWidget()
        details = QVBoxLayout(self.details)
        details.setContentsMargins(0, 0, 0, 0)
        details.addWidget(self.who)
        details.addWidget(self.facts)
        details.addWidget(self.held)
        details.addWidget(self.contacts)
        details.addLayout(actions)
        details.addWidget(self.progress)
        details.addWidget(self.forget_form)
        details.addWidget(_heading("Receipts"))
        details.addWidget(self.receipts, 1)
        details.addWidget(_heading("Consent history"))
        details.addWidget(self.consents, 1)
        self.details.hide()

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(search)
        layout.addWidget(self.notice)
        layout.addWidget(self.details, 1)
        layout.addStretch(0)

    # -- search and show -----------------------------------------------------------------------

    def search(self) -> None:
        self.tasks.start(self.look_up(self.query.text()), "find-customer")

    async def look_up(self, contact: str) -> None:
        """Find the customers with this contact and show the first."""
        with busy(self.find_button, self.query):
            found = await self._rights.find(contact, actor=self._actor())
        self.asked = contact.strip()
        self.found = found
        self.cancel_forget()
        self.revealed.clear()
        self.choice.blockSignals(True)
        self.choice.clear()
        for c in found:
            self.choice.addItem(f"Customer {c.customer_id}: {c.name or 'no name'}")
        self.choice.blockSignals(False)
        self.choice.setVisible(len(found) > 1)
        if not found:
            self.view = None
            self.details.hide()
            self._say("No customer is recorded with that phone number or email address.", None)
            return
        self._say("", None)
        await self.show_customer(found[0].customer_id)

    def _chosen(self, index: int) -> None:
        if 0 <= index < len(self.found):
            self.tasks.start(self.show_customer(self.found[index].customer_id), "show-customer")

    async def show_customer(self, customer_id: int) -> None:
        """Read and show one customer's receipts, contacts and consents."""
        self.view = await self._rights.view(customer_id)
        self._fill()

    def _fill(self) -> None:
        view = self.view
        if view is None:
            return
        s = view.summary
        self.who.setText(s.name or f"Customer {s.customer_id} (no name recorded)")
        last = f"last sale {date_time(s.last_sale_at)}" if s.last_sale_at else "no sale recorded"
        auto = ", ".join(f"{_channel(c)}{' (sent automatically)' if a else ''}" for c, a in view.preferences)
        sales = "1 sale" if s.sales == 1 else f"{s.sales} sales"
        self.facts.setText(
            f"Customer {s.customer_id} \u00b7 {sales}, {last} \u00b7 receipts by: {auto or 'nothing chosen'}"
        )
        holds = "; ".join(f"hold {h.id}: {h.reason}" for h in s.holds)
        self.held.setText(f"Under legal hold ({holds}): this customer cannot be forgotten until it is released.")
        self.held.setVisible(bool(s.holds))
        self._fill_contacts(s.contacts)
        has = {c.kind for c in s.contacts}
        self.stop_texts.setEnabled(self._consent is not None and "phone" in has)
        self.stop_emails.setEnabled(self._consent is not None and "email" in has)
        self.forget_button.setEnabled(not s.holds)
        self.receipts.setRowCount(len(view.receipts))
        for row, r in enumerate(view.receipts):
            sent = ", ".join(
                f"{channel_word(c)} {state_word(st).lower()}" for c, st in zip(r.channels, r.states, strict=True)
            )
            for column, value in enumerate(
                (date_time(r.created_at), r.sale_id, r.lane, money(r.total), sent or "not sent")
            ):
                self.receipts.setItem(row, column, QTableWidgetItem(value))
        self.consents.setRowCount(len(view.consents))
        for row, g in enumerate(reversed(view.consents)):  # newest first
            version = f"Version {g.text_version}" + (f", {g.language}" if g.language else "") if g.text_version else ""
            values = (
                date_time(g.recorded_at),
                ("Agreed" if g.granted else "Withdrawn") + f" ({g.purpose.value.replace('_', ' ')})",
                channel_word(g.channel),
                self._shown(g.contact) if g.contact else "",
                SOURCES.get(g.source, g.source),
                g.lane or "",
                g.staff or "",
                g.text_shown,
            )
            for column, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(f"{value}\n{version}" if column == len(values) - 1 and version else value)
                self.consents.setItem(row, column, item)
        self.consents.resizeRowsToContents()  # the words shown wrap in the last column, which takes the rest
        self.details.show()

    def _shown(self, value: str) -> str:
        return value if value in self.revealed else Contact("", value).masked

    def _fill_contacts(self, contacts: tuple[Contact, ...]) -> None:
        while self._contact_rows.count():
            item = self._contact_rows.takeAt(0)
            widget = item.widget() if item is not None else None
            if widget is not None:
                widget.deleteLater()
        if not contacts:
            self._contact_rows.addWidget(QLabel("No contact is recorded."))
        for contact in contacts:
            line = QWidget()
            row = QHBoxLayout(line)
            row.setContentsMargins(0, 0, 0, 0)
            kind = "Email" if contact.kind == "email" else "Phone"
            label = QLabel(f"{kind}: {self._shown(contact.value)}")
            label.setTextFormat(Qt.TextFormat.PlainText)
            label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
            shown = contact.value in self.revealed
            toggle = QPushButton("Hide" if shown else "Reveal")
            toggle.setAccessibleName(f"{'Hide' if shown else 'Reveal'} the {kind.lower()}")
            toggle.clicked.connect(lambda _=False, v=contact.value: self.reveal(v))
            row.addWidget(label)
            row.addWidget(toggle)
            row.addStretch(1)
            self._contact_rows.addWidget(line)

    def reveal(self, value: str) -> None:
        """Show a contact in full (to read it back to the customer), or mask it again."""
        self.revealed.symmetric_difference_update({value})
        self._fill()

    def _say(self, text: str, kind: str | None) -> None:
        self.notice.setText(text)
        theme.hint(self.notice, kind)
        self.notice.setVisible(bool(text))

    # -- stop ----------------------------------------------------------------------------------

    async def stop(self, group: ChannelGroup) -> None:
        """Stop texts (or emails) to every number (or address) of the customer, at once, in the manager's name."""
        if self.view is None or self._consent is None:
            return
        kind = "phone" if group is ChannelGroup.TEXT else "email"
        targets = [c for c in self.view.summary.contacts if c.kind == kind]
        button = self.stop_texts if group is ChannelGroup.TEXT else self.stop_emails
        with busy(button):
            for contact in targets:
                await self._consent.revoke(contact.value, group, via=ConsentSource.MANAGER, actor=self._actor())
        what = "Texts" if group is ChannelGroup.TEXT else "Emails"
        self._say(f"{what} to {', '.join(c.masked for c in targets)} are stopped from now on.", "good")
        await self.show_customer(self.view.summary.customer_id)

    # -- export --------------------------------------------------------------------------------

    def _choose_file(self) -> None:
        if self.view is None:
            return
        start = str(self._export_dir / f"customer-{self.view.summary.customer_id}.json")
        dialog = QFileDialog(self, "Export the customer's data to", start, "JSON files (*.json)")
        dialog.setAcceptMode(QFileDialog.AcceptMode.AcceptSave)
        dialog.fileSelected.connect(
            lambda path: self.tasks.start(self.export(Path(os.path.expanduser(path))), "export-customer")
        )
        dialog.finished.connect(dialog.deleteLater)
        self._dialog = dialog
        dialog.open()

    async def export(self, out: Path) -> None:
        """Write the customer's file (JSON and a printable page) and say where."""
        if self.view is None:
            return
        contact = self._contact_of(self.view)
        self.progress.setRange(0, 0)  # busy: the export reports no steps
        self.progress.show()
        self._say("Exporting\u2026", None)
        try:
            with busy(self.export_button, self.forget_button):
                done = await self._rights.export(contact, out, actor=self._actor())
        finally:
            self.progress.setRange(0, 1)
            self.progress.hide()
        self._say(
            f"Exported {done.receipts} receipt(s) to {done.json_path} and the printable page {done.html_path.name}.",
            "good",
        )

    def _contact_of(self, view: CustomerView) -> str:
        """The contact that names this customer: the one searched for, else their first."""
        if self.asked:
            return self.asked
        if not view.summary.contacts:
            raise ValidationFailed("This customer has no contact left to find them by.")
        return view.summary.contacts[0].value

    # -- forget --------------------------------------------------------------------------------

    def ask_reason(self) -> None:
        """Open the reason form: forgetting takes a reason and a second click."""
        if self.view is None:
            return
        s = self.view.summary
        self.forget_label.setText(
            f"Forget {s.name or f'customer {s.customer_id}'}? Their name and contacts are erased for good; "
            "their receipts stay as sales records without them, and a stop they asked for stays in force."
        )
        theme.hint(self.forget_label, "warn", bold=True)
        self.reason.clear()
        self.forget_form.show()
        self.reason.setFocus(Qt.FocusReason.OtherFocusReason)

    def cancel_forget(self) -> None:
        self.reason.clear()
        self.forget_form.hide()

    def _confirm_forget(self) -> None:
        self.tasks.start(self.forget(self.reason.text()), "forget-customer")

    async def forget(self, reason: str) -> None:
        """Forget the customer shown, for `reason`, in the manager's name."""
        if self.view is None:
            return
        if not reason.strip():  # asked for here, beside the field, not in the window's error banner
            self.forget_label.setText("Type why the customer is forgotten first (it is kept in the audit log).")
            theme.hint(self.forget_label, "bad", bold=True)
            self.reason.setFocus(Qt.FocusReason.OtherFocusReason)
            return
        s = self.view.summary
        with busy(self.confirm, self.cancel, self.reason, self.forget_button):
            done = await self._rights.forget(self._contact_of(self.view), reason=reason, actor=self._actor())
        self.cancel_forget()
        self.view, self.found, self.asked = None, [], ""
        self.query.clear()
        self.details.hide()
        self.choice.hide()
        sales = "their sale stays" if s.sales == 1 else f"their {s.sales} sales stay"
        self._say(
            f"Customer {s.customer_id} is forgotten: their name and contacts are erased, and {sales} on record "
            f"without them ({sum(done.counts.values())} records changed).",
            "good",
        )
        self.sig_forgotten.emit()
