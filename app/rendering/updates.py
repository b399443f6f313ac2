"""`UpdateRenderer`: an order update (shipped, cancelled, refunded) in every form a customer reads.

The same store header, language and catalogue as the receipt, with its own templates
(`email/update.html`, `email/update.txt`, `sms/update.txt`): what shipped, what is still to come,
tracking links, what was refunded and why. A reason is always one of the catalogue's sentences
(`reason_<Reason>`), never a platform's code; a cancellation says what it means for this order
(what still comes, what was cancelled, whether a refund follows or was issued).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit

import css_inline

from app.domain.channels import Language
from app.domain.lifecycle import Cancellation, Charge, OrderStatus, Tracking, UpdateLine
from app.domain.reasons import Reason
from app.domain.receipt import StoreProfile
from app.rendering.environment import VIEW_TYPES, RenderingEnvironment
from app.rendering.formatting import format_datetime, money
from app.rendering.i18n import Labels, catalogue
from app.rendering.sms import encode_info, gsm_fold, segment_count, tidy
from app.rendering.summary import Row, StoreView, one_line

HTML_TEMPLATE = "email/update.html"
TEXT_TEMPLATE = "email/update.txt"
SMS_TEMPLATE = "sms/update.txt"


@dataclass(frozen=True, slots=True)
class TrackingView:
    label: str
    url: str  # empty when the platform gave no usable http(s) link


@dataclass(frozen=True, slots=True)
class UpdateView:
    """Everything an update message shows, formatted for one language."""

    language: str
    t: Labels
    status: str
    subject: str
    heading: str
    intro: str
    store: StoreView
    order: str
    when: str
    lines_heading: str
    lines: tuple[Row, ...]
    pending: tuple[Row, ...]
    pending_count: str
    tracking: tuple[TrackingView, ...]
    refund: str
    reason: str
    questions: str


@dataclass(frozen=True, slots=True)
class RenderedUpdate:
    subject: str
    html: str
    text: str
    sms: str
    sms_encoding: str
    sms_segments: int


class UpdateRenderer:
    """Renders order updates from the templates in `templates_dir` (default: the repository's)."""

    def __init__(self, templates_dir: Path | None = None, *, sms_ascii_fold: bool = True) -> None:
        self._env = RenderingEnvironment(templates_dir, trusted_types=(*VIEW_TYPES, UpdateView, TrackingView))
        self._html = self._env.template(HTML_TEMPLATE)
        self._text = self._env.template(TEXT_TEMPLATE)
        self._sms = self._env.template(SMS_TEMPLATE)
        self._inliner = css_inline.CSSInliner(
            keep_style_tags=False, keep_link_tags=False, keep_at_rules=False, load_remote_stylesheets=False
        )
        self.sms_ascii_fold = sms_ascii_fold

    def render(self, view: UpdateView) -> RenderedUpdate:
        context = {"u": view, "t": view.t}
        html = self._inliner.inline(self._html.render(context))
        text = "\n".join(line.rstrip() for line in self._text.render(context).splitlines()) + "\n"
        sms = tidy(self._sms.render(context))
        if self.sms_ascii_fold:
            sms = gsm_fold(sms)
        encoding, _ = encode_info(sms)
        return RenderedUpdate(view.subject, html, text, sms, encoding, segment_count(sms))


def build_update_view(
    *,
    status: OrderStatus,
    store: StoreProfile,
    language: Language,
    order_label: str,
    occurred_at: datetime,
    lines: tuple[UpdateLine, ...],
    pending: tuple[UpdateLine, ...],
    tracking: tuple[Tracking, ...],
    refund_amount: Decimal | None,
    reason: Reason | None,
    cancellation: Cancellation | None = None,
) -> UpdateView:
    """The display form of one update; `occurred_at` is shown in its own UTC offset, like a sale's time.

    A cancellation (`status` CANCELLED with its `cancellation`) lists the cancelled lines, shows what
    had shipped as still to come, and says what happens to the money.
    """
    labels = catalogue(language)
    key = status.value
    subject_key, intro_key = f"update_subject_{key}", f"update_intro_{key}"
    heading_key = {OrderStatus.REFUNDED: "refunded_items", OrderStatus.CANCELLED: "cancelled_items"}.get(
        status, "shipped_items"
    )
    if status is OrderStatus.CANCELLED and cancellation is not None:
        if cancellation.partly_shipped:
            subject_key, intro_key = "update_subject_cancelled_partly", "update_intro_cancelled_partly"
            lines, pending = cancellation.cancelled, cancellation.still_coming
        if cancellation.charge is Charge.REFUNDED:
            refund_amount = cancellation.refunded
    amount = money(refund_amount) if refund_amount is not None else ""
    fields = {"store": one_line(store.name), "order": one_line(order_label), "amount": amount}
    intro = labels[intro_key].format(**fields)
    if status is OrderStatus.CANCELLED and cancellation is not None:
        intro = f"{intro} {labels[f'update_cancel_charge_{cancellation.charge.value}'].format(**fields)}"
    return UpdateView(
        language=language.value,
        t=Labels(labels),
        status=key,
        subject=one_line(labels[subject_key].format(**fields)),
        heading=labels[f"update_heading_{key}"],
        intro=intro,
        store=StoreView(one_line(store.name), one_line(store.address), one_line(store.phone), store.website or ""),
        order=labels["order"].format(order=one_line(order_label)),
        when=format_datetime(occurred_at, labels),
        lines_heading=labels[heading_key],
        lines=tuple(_row(line) for line in lines),
        pending=tuple(_row(line) for line in pending),
        pending_count=_count(pending, labels),
        tracking=tuple(_tracking(t) for t in tracking),
        refund=amount,
        reason=labels[f"reason_{reason.value}"] if reason is not None else "",
        questions=labels["update_questions"].format(phone=one_line(store.phone)),
    )


def _count(lines: tuple[UpdateLine, ...], labels: Mapping[str, str]) -> str:
    if not lines:
        return ""
    count = sum((line.quantity for line in lines), Decimal(0))
    whole = count == count.to_integral_value()
    key = "item_count_one" if count == 1 else "item_count_other"
    return labels[key].format(count=f"{count.normalize():f}" if not whole else int(count))


def _row(line: UpdateLine) -> Row:
    quantity = line.quantity.normalize()
    return Row(one_line(line.name), f"× {quantity:f}")


def _tracking(tracking: Tracking) -> TrackingView:
    """Carrier and number as the label; the link only when it is plain http(s)."""
    parts = [p for p in (tracking.company, tracking.number) if p]
    url = tracking.url or ""
    if urlsplit(url).scheme not in ("http", "https"):
        url = ""
    return TrackingView(one_line(" ".join(parts)) or url, url)
