"""`ReceiptRenderer`: one sale in, every form of its receipt out (subject, HTML, text, SMS).

Built once at start-up and shared: templates are compiled on construction, the CSS inliner is
prebuilt, and `template_version` hashes the template files once. `render` is pure and
deterministic (no clock, no locale, no random), so the same sale always gives the same bytes and
the same `RenderedReceipt.content_hash`.
"""

from __future__ import annotations

from pathlib import Path

import css_inline

from app.domain.channels import Language
from app.domain.receipt import RenderedReceipt, StoreProfile
from app.domain.sale import Sale
from app.rendering.environment import RenderingEnvironment
from app.rendering.inline_images import InlineImage, return_code_slot
from app.rendering.sms import make_sms
from app.rendering.summary import build_summary
from app.rendering.template_data import build_template_data, dumps

HTML_TEMPLATE = "email/receipt.html"
TEXT_TEMPLATE = "email/receipt.txt"
SMS_TEMPLATE = "sms/receipt.txt"
SMS_SUMMARY_TEMPLATE = "sms/summary.txt"


class ReceiptRenderer:
    """Renders receipts from the templates in `templates_dir` (default: the repository's `templates/`).

    `sms_budget_segments` caps the SMS with every line; past it the SMS is a summary.
    `sms_ascii_fold` folds characters GSM-7 cannot carry (see `app.rendering.sms.gsm_fold`).
    `logo` is the store's logo; the HTML shows it and the return barcode as inline images
    (`app.rendering.inline_images`), which the message attaches when it is sent.
    """

    def __init__(
        self,
        templates_dir: Path | None = None,
        *,
        sms_budget_segments: int = 4,
        sms_ascii_fold: bool = True,
        logo: InlineImage | None = None,
    ) -> None:
        if sms_budget_segments < 1:
            raise ValueError("sms_budget_segments must be at least 1")
        self._env = RenderingEnvironment(templates_dir)
        self._html = self._env.template(HTML_TEMPLATE)
        self._text = self._env.template(TEXT_TEMPLATE)
        self._sms = self._env.template(SMS_TEMPLATE)
        self._sms_summary = self._env.template(SMS_SUMMARY_TEMPLATE)
        self._inliner = css_inline.CSSInliner(
            keep_style_tags=False,
            keep_link_tags=False,
            keep_at_rules=False,
            load_remote_stylesheets=False,
        )
        self.logo = logo
        """The store's logo (`[store] logo`), shown at the top of the e-mail as an inline image."""
        self.sms_budget_segments = sms_budget_segments
        self.sms_ascii_fold = sms_ascii_fold
        self.template_version: str = self._env.template_version
        """Short hash of the template files, computed once at construction."""

    def render(
        self,
        sale: Sale,
        store: StoreProfile,
        language: Language,
        *,
        receipt_url: str | None = None,
    ) -> RenderedReceipt:
        """Every form of the receipt for `sale` in `language`.

        `receipt_url`, when known, is where the full receipt can be read; the SMS summary points
        to it (otherwise to the service desk), and the template data carries it.
        """
        summary = build_summary(sale, store, language)
        context = {
            "s": summary,
            "t": summary.t,
            "logo": self.logo,
            "barcode": return_code_slot(summary.return_code),
        }
        html = self._inliner.inline(self._html.render(context))
        text = "\n".join(line.rstrip() for line in self._text.render(context).splitlines()) + "\n"
        sms = make_sms(
            summary,
            full=self._sms,
            short=self._sms_summary,
            budget_segments=self.sms_budget_segments,
            ascii_fold=self.sms_ascii_fold,
            receipt_url=receipt_url,
        )
        return RenderedReceipt(
            language=language,
            subject=summary.subject,
            html=html,
            text=text,
            sms=sms,
            template_version=self.template_version,
            template_data=dumps(build_template_data(sale, store, language, receipt_url=receipt_url, summary=summary)),
        )
