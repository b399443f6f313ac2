"""The one Jinja2 environment receipts are rendered with.

Sandboxed (templates are data an operator may edit, so they cannot reach Python internals),
`StrictUndefined` (a misspelt name fails the render instead of printing nothing), HTML
autoescaped, whitespace control on. Templates are compiled once and kept: `auto_reload` is off and
the cache is unbounded, since a receipt renderer serves a handful of templates very often.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import fields, is_dataclass
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from jinja2 import FileSystemLoader, StrictUndefined, Template, select_autoescape
from jinja2.sandbox import ImmutableSandboxedEnvironment

from app.domain.channels import Language
from app.domain.sale import Unit
from app.rendering.formatting import (
    format_date,
    format_datetime,
    money,
    percent,
    quantity_detail,
    text_center,
    text_row,
    text_wrap,
)
from app.rendering.i18n import CATALOGUES, Labels, catalogue
from app.rendering.summary import (
    FooterView,
    LineView,
    LoyaltyView,
    PromotionView,
    ReceiptSummary,
    Row,
    StoreView,
)
from app.support.package_data import TEMPLATES, package_folder

TEMPLATES_DIR = package_folder(TEMPLATES)
"""The shipped templates: the package `app.templates`, which is the repository's top-level `templates/`."""

VIEW_TYPES: tuple[type, ...] = (
    ReceiptSummary, StoreView, LineView, Row, LoyaltyView, PromotionView, FooterView, Labels,
)  # fmt: skip
"""Types whose public attributes templates may read without the sandbox's per-access check."""


def _money_filter(amount: Decimal | int | str, negative: bool = False) -> str:
    return money(Decimal(amount), negative=negative)


def _quantity_filter(quantity: Decimal, unit: Unit | str, unit_price: Decimal) -> str:
    return quantity_detail(Decimal(quantity), Unit(unit), Decimal(unit_price))


def _date_filter(value: date, language: str = Language.EN.value) -> str:
    return format_date(value, catalogue(Language(language)))


def _datetime_filter(value: datetime, language: str = Language.EN.value) -> str:
    return format_datetime(value, catalogue(Language(language)))


class RenderingEnvironment(ImmutableSandboxedEnvironment):
    """A sandboxed Jinja2 environment over `templates_dir` (default: the shipped templates).

    Immutable sandbox: templates can neither reach unsafe attributes nor modify lists or dicts.
    Public attributes of `trusted_types` (default: the summary view model) are read directly;
    everything else goes through the sandbox's checks.

    Filters: `money` (`$1,234.56`; `money(true)` gives `-$1.00`), `quantity(unit, unit_price)`
    (`2.35 lb @ $1.99/lb`), `percent` (`6.25%`), `date(lang)` and `datetime(lang)` (in the
    value's own UTC offset), and for the 48-column plain text `row(right, flag=, indent=)`,
    `centered` and `wrap`.
    """

    def __init__(self, templates_dir: Path | None = None, *, trusted_types: Iterable[type] = VIEW_TYPES) -> None:
        self.templates_dir = (templates_dir or TEMPLATES_DIR).resolve()
        super().__init__(
            loader=FileSystemLoader(self.templates_dir, encoding="utf-8"),
            autoescape=select_autoescape(enabled_extensions=("html", "htm"), default_for_string=False),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,
            cache_size=-1,
        )
        self.filters.update(
            money=_money_filter,
            quantity=_quantity_filter,
            percent=lambda rate: percent(Decimal(rate)),
            date=_date_filter,
            datetime=_datetime_filter,
            row=text_row,
            centered=text_center,
            wrap=text_wrap,
        )
        self.template_version = template_version(self.templates_dir)
        self._trusted: dict[type, frozenset[str]] = {cls: public_attributes(cls) for cls in trusted_types}

    def getattr(self, obj: Any, attribute: str) -> Any:
        """Attribute lookup, with a fast path for the trusted view-model types.

        The sandbox checks every attribute of every object, which was most of a render's cost. The
        view-model dataclasses hold only display strings, tuples and other view models, so their
        declared public attributes skip the check; anything else takes the sandbox's full path.
        """
        allowed = self._trusted.get(type(obj))
        if allowed is not None and attribute in allowed:
            return getattr(obj, attribute)
        return super().getattr(obj, attribute)

    def template(self, name: str) -> Template:
        """The compiled template `name` (compiled on first use, then cached)."""
        return self.get_template(name)


def public_attributes(cls: type) -> frozenset[str]:
    """The names templates may read on `cls`: dataclass fields and public properties; for `Labels`,
    every catalogue key."""
    if cls is Labels:
        return frozenset(key for entries in CATALOGUES.values() for key in entries)
    names = {f.name for f in fields(cls)} if is_dataclass(cls) else set()
    names |= {name for name, value in vars(cls).items() if isinstance(value, property)}
    return frozenset(name for name in names if not name.startswith("_"))


def template_version(templates_dir: Path) -> str:
    """A short hash of every template file under `templates_dir`, names and bytes, in a stable order.

    Hidden files and Python's own files (the package's `__init__.py`, `__pycache__/`) are not templates.
    """
    digest = hashlib.sha256()
    files = (
        p
        for p in templates_dir.rglob("*")
        if p.is_file()
        and not p.name.startswith(".")
        and p.suffix not in (".py", ".pyc")
        and "__pycache__" not in p.relative_to(templates_dir).parts
    )
    for path in sorted(files):
        digest.update(path.relative_to(templates_dir).as_posix().encode("utf-8"))
        digest.update(b"\x00")
        digest.update(path.read_bytes())
        digest.update(b"\x00")
    return digest.hexdigest()[:12]
