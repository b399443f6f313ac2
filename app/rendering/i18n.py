"""Every string a customer reads on a receipt, one flat dict per language.

Templates never hold words: they read labels from here, so one template set serves every language.
To add a language, add a `Language` member and a dict with the same keys; a key missing from it
falls back to English. Placeholders use `str.format` names (`{store}`, `{amount}`).
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

from app.domain.channels import Language

EN: Final[dict[str, str]] = {
    "subject": "Your receipt from {store} — {total}",
    "heading": "Your receipt",
    "thanks": "Thank you for shopping with us!",
    "sale": "Sale {sale_id}",
    "lane": "Lane {lane}",
    "cashier": "Cashier {cashier}",
    "items": "Items",
    "subtotal": "Subtotal",
    "tax": "{name} {rate}",
    "tax_short": "Tax",
    "deposits": "Bottle deposits",
    "total": "Total",
    "you_saved": "You saved {amount}",
    "coupon": "Coupon {code}: {description}",
    "discounts": "Discounts",
    "rewards": "Rewards",
    "points_earned": "Points earned",
    "points_redeemed": "Points redeemed",
    "points_balance": "Points balance",
    "pending": "pending",
    "points_short": "Points {change}",
    "points_short_balance": "Points {change}, balance {balance}",
    "payment": "Payment",
    "change_due": "Change",
    "tender_card": "Card",
    "tender_cash": "Cash",
    "tender_ebt_snap": "EBT SNAP",
    "tender_ebt_cash": "EBT Cash",
    "tender_gift": "Gift card",
    "tender_check": "Check",
    "tender_other": "Other payment",
    "snap_marker": "SNAP",
    "snap_legend": "eligible for SNAP/EBT",
    "promotions": "For next time",
    "promo_code": "Code: {code}",
    "promo_expires": "Expires {date}",
    "not_yours": "Not your receipt? Tell us at {phone}.",
    "not_yours_short": "Not your receipt?",
    "preferences_url": "To change how you get receipts, visit {url}.",
    "preferences_desk": "To change how you get receipts, ask at the service desk.",
    "item_count_one": "1 item",
    "item_count_other": "{count} items",
    "full_receipt": "Full receipt: {where}",
    "service_desk": "ask at the service desk",
    "months": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
    "date_format": "{month} {day}, {year}",
    "datetime_format": "{month} {day}, {year} {hour12}:{minute} {ampm}",
    "short_datetime_format": "{m}/{day}/{yy} {hour12}:{minute} {ampm}",
}

ES: Final[dict[str, str]] = {
    "subject": "Su recibo de {store} — {total}",
    "heading": "Su recibo",
    "thanks": "¡Gracias por su compra!",
    "sale": "Venta {sale_id}",
    "lane": "Caja {lane}",
    "cashier": "Cajero {cashier}",
    "items": "Artículos",
    "subtotal": "Subtotal",
    "tax": "{name} {rate}",
    "tax_short": "Impuestos",
    "deposits": "Depósitos de envases",
    "total": "Total",
    "you_saved": "Usted ahorró {amount}",
    "coupon": "Cupón {code}: {description}",
    "discounts": "Descuentos",
    "rewards": "Recompensas",
    "points_earned": "Puntos ganados",
    "points_redeemed": "Puntos canjeados",
    "points_balance": "Saldo de puntos",
    "pending": "pendiente",
    "points_short": "Puntos {change}",
    "points_short_balance": "Puntos {change}, saldo {balance}",
    "payment": "Pago",
    "change_due": "Cambio",
    "tender_card": "Tarjeta",
    "tender_cash": "Efectivo",
    "tender_ebt_snap": "EBT SNAP",
    "tender_ebt_cash": "EBT efectivo",
    "tender_gift": "Tarjeta de regalo",
    "tender_check": "Cheque",
    "tender_other": "Otro pago",
    "snap_marker": "SNAP",
    "snap_legend": "elegible para SNAP/EBT",
    "promotions": "Para su próxima visita",
    "promo_code": "Código: {code}",
    "promo_expires": "Vence el {date}",
    "not_yours": "¿No es su recibo? Avísenos al {phone}.",
    "not_yours_short": "¿No es su recibo?",
    "preferences_url": "Para cambiar cómo recibe sus recibos, visite {url}.",
    "preferences_desk": "Para cambiar cómo recibe sus recibos, pregunte en el mostrador de servicio.",
    "item_count_one": "1 artículo",
    "item_count_other": "{count} artículos",
    "full_receipt": "Recibo completo: {where}",
    "service_desk": "pregunte en el mostrador de servicio",
    "months": "ene feb mar abr may jun jul ago sep oct nov dic",
    "date_format": "{day} {month} {year}",
    "datetime_format": "{day} {month} {year}, {hour24}:{minute}",
    "short_datetime_format": "{day}/{m}/{yy} {hour24}:{minute}",
}

CATALOGUES: Final[Mapping[Language, Mapping[str, str]]] = MappingProxyType(
    {
        Language.EN: MappingProxyType(EN),
        Language.ES: MappingProxyType({**EN, **ES}),
    }
)
"""The catalogue of each language, English filling any key a language lacks."""


def catalogue(language: Language) -> Mapping[str, str]:
    """The labels of `language` (English for a language with no catalogue yet)."""
    return CATALOGUES.get(language, CATALOGUES[Language.EN])


class Labels:
    """Attribute access to one catalogue for templates: `{{ t.subtotal }}`.

    A plain dict would let `t.items` resolve to `dict.items`; this object has no such methods, and
    an unknown key raises `AttributeError`, which `StrictUndefined` turns into a render error.
    """

    __slots__ = ("_entries",)

    def __init__(self, entries: Mapping[str, str]) -> None:
        self._entries = entries

    def __getattr__(self, key: str) -> str:
        if key.startswith("_"):
            raise AttributeError(key)
        try:
            return self._entries[key]
        except KeyError:
            raise AttributeError(key) from None

    def __getitem__(self, key: str) -> str:
        return self._entries[key]
