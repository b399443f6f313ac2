"""Receipt rendering: the unified summary, Jinja2 templates, CSS inlining and SMS segmenting.

Imports `app.domain` only (plus jinja2, css_inline and the standard library).
"""

from app.rendering.environment import TEMPLATES_DIR, RenderingEnvironment, template_version
from app.rendering.receipts import ReceiptRenderer
from app.rendering.sms import encode_info, gsm_fold, make_sms, segment_count
from app.rendering.summary import ReceiptSummary, build_summary

__all__ = [
    "TEMPLATES_DIR",
    "ReceiptRenderer",
    "ReceiptSummary",
    "RenderingEnvironment",
    "build_summary",
    "encode_info",
    "gsm_fold",
    "make_sms",
    "segment_count",
    "template_version",
]
