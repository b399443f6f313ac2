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
    # receipt marks and card details (taxed lines, deposits per line, how a card was read)
    "taxed_marker": "T",
    "taxed_legend": "taxable",
    "deposit_line": "Bottle deposit",
    "entry_chip": "Chip",
    "entry_contactless": "Tap",
    "entry_swipe": "Swipe",
    "entry_manual": "Keyed",
    "entry_wallet": "Mobile wallet",
    "auth_code": "Auth {code}",
    "return_code": "Return code {code}",
    "return_code_alt": "Barcode for returns at the service desk",
    "logo_alt": "{store} logo",
    "promotions": "For next time",
    "promo_code": "Code: {code}",
    "promo_expires": "Expires {date}",
    "not_yours": "Not your receipt? Tell us at {phone}.",
    "not_yours_short": "Not your receipt?",
    "preferences_url": "To change how you get receipts, visit {url}.",
    "preferences_desk": "To change how you get receipts, ask at the service desk.",
    # the unsubscribe line of a receipt e-mail (app.rendering.unsubscribe); {link} and {address} are filled in
    "unsubscribe_link": "Don't want receipts by email? {link}",
    "unsubscribe_link_label": "Unsubscribe",
    "unsubscribe_mail": "Don't want receipts by email? Send an email with the word unsubscribe to {address}.",
    "unsubscribe_page_title": "Stop receipts by email",
    "unsubscribe_page_ask": "Stop sending receipts and order updates by email to {address}?",
    "unsubscribe_page_button": "Unsubscribe",
    "unsubscribe_page_done": "Done: {address} will get no more receipts by email from {store}.",
    "unsubscribe_page_unknown": "This unsubscribe link is not known here; it may have been mistyped.",
    "item_count_one": "1 item",
    "item_count_other": "{count} items",
    "full_receipt": "Full receipt: {where}",
    "service_desk": "ask at the service desk",
    "months": "Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec",
    "date_format": "{month} {day}, {year}",
    "datetime_format": "{month} {day}, {year} {hour12}:{minute} {ampm}",
    "short_datetime_format": "{m}/{day}/{yy} {hour12}:{minute} {ampm}",
    "order": "Order {order}",
    "update_subject_fulfilled": "Your order {order} from {store} has shipped",
    "update_subject_partially_shipped": "Part of your order {order} from {store} has shipped",
    "update_subject_cancelled": "Your order {order} from {store} was cancelled",
    "update_subject_cancelled_partly": "Part of your order {order} from {store} was cancelled",
    "update_subject_refunded": "Your refund of {amount} from {store}",
    "update_heading_fulfilled": "Your order is on its way",
    "update_heading_partially_shipped": "Part of your order is on its way",
    "update_heading_cancelled": "Your order was cancelled",
    "update_heading_refunded": "Your refund",
    "update_intro_fulfilled": "Everything in your order has shipped.",
    "update_intro_partially_shipped": "These items have shipped. The rest will follow.",
    "update_intro_cancelled": "Your order {order} was cancelled.",
    "update_intro_cancelled_partly": (
        "Part of your order {order} had already shipped and is still on its way to you. The rest was cancelled."
    ),
    "update_cancel_charge_none": "You were not charged.",
    "update_cancel_charge_refund_follows": "A refund to your original payment method follows.",
    "update_cancel_charge_refunded": "We refunded {amount} to your original payment method.",
    "update_intro_refunded": "We refunded {amount} to your original payment method.",
    "shipped_items": "Shipped",
    "cancelled_items": "Cancelled",
    "refunded_items": "Refunded items",
    "still_pending": "Still to come",
    "tracking": "Track your package",
    "refund_total": "Refunded",
    "update_questions": "Questions? Call us at {phone}.",
    # why an order was cancelled or refunded (app.domain.reasons.Reason): never a platform's own code
    "reason_customer_request": "This was done at your request.",
    "reason_suspected_fraud": "Our payment checks could not confirm this purchase. If you made it, please call us.",
    "reason_unavailable": "Some items were not available.",
    "reason_payment_declined": "The payment did not go through.",
    "reason_store_error": "We made a mistake with this order. We are sorry.",
    "reason_duplicate_charge": "You were charged twice for the same purchase; this removes the extra charge.",
    "reason_charged_in_error": "You were charged by mistake.",
    "reason_hold_expired": "The hold on your card expired before the payment was completed.",
    "reason_not_completed": "The checkout was not finished.",
    "reason_returned": "You returned the items.",
    "reason_order_cancelled": "This is for a cancelled order.",
    "reason_neutral": "The store made this change.",
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
    "taxed_marker": "T",
    "taxed_legend": "sujeto a impuesto",
    "deposit_line": "Depósito de envase",
    "entry_chip": "Chip",
    "entry_contactless": "Sin contacto",
    "entry_swipe": "Banda",
    "entry_manual": "Digitada",
    "entry_wallet": "Billetera móvil",
    "auth_code": "Aut. {code}",
    "return_code": "Código de devolución {code}",
    "return_code_alt": "Código de barras para devoluciones en el mostrador de servicio",
    "logo_alt": "Logotipo de {store}",
    "promotions": "Para su próxima visita",
    "promo_code": "Código: {code}",
    "promo_expires": "Vence el {date}",
    "not_yours": "¿No es su recibo? Avísenos al {phone}.",
    "not_yours_short": "¿No es su recibo?",
    "preferences_url": "Para cambiar cómo recibe sus recibos, visite {url}.",
    "preferences_desk": "Para cambiar cómo recibe sus recibos, pregunte en el mostrador de servicio.",
    "unsubscribe_link": "¿No quiere recibos por correo electrónico? {link}",
    "unsubscribe_link_label": "Cancelar la suscripción",
    "unsubscribe_mail": (
        "¿No quiere recibos por correo electrónico? Envíe un correo con la palabra unsubscribe a {address}."
    ),
    "unsubscribe_page_title": "Dejar de recibir recibos por correo",
    "unsubscribe_page_ask": "¿Dejar de enviar recibos y avisos de pedidos por correo electrónico a {address}?",
    "unsubscribe_page_button": "Cancelar la suscripción",
    "unsubscribe_page_done": "Listo: {address} ya no recibirá recibos por correo electrónico de {store}.",
    "unsubscribe_page_unknown": "Este enlace para cancelar la suscripción no se conoce aquí; puede estar mal escrito.",
    "item_count_one": "1 artículo",
    "item_count_other": "{count} artículos",
    "full_receipt": "Recibo completo: {where}",
    "service_desk": "pregunte en el mostrador de servicio",
    "months": "ene feb mar abr may jun jul ago sep oct nov dic",
    "date_format": "{day} {month} {year}",
    "datetime_format": "{day} {month} {year}, {hour24}:{minute}",
    "short_datetime_format": "{day}/{m}/{yy} {hour24}:{minute}",
    "order": "Pedido {order}",
    "update_subject_fulfilled": "Su pedido {order} de {store} fue enviado",
    "update_subject_partially_shipped": "Parte de su pedido {order} de {store} fue enviada",
    "update_subject_cancelled": "Su pedido {order} de {store} fue cancelado",
    "update_subject_cancelled_partly": "Parte de su pedido {order} de {store} fue cancelada",
    "update_subject_refunded": "Su reembolso de {amount} de {store}",
    "update_heading_fulfilled": "Su pedido va en camino",
    "update_heading_partially_shipped": "Parte de su pedido va en camino",
    "update_heading_cancelled": "Su pedido fue cancelado",
    "update_heading_refunded": "Su reembolso",
    "update_intro_fulfilled": "Todo su pedido fue enviado.",
    "update_intro_partially_shipped": "Estos artículos fueron enviados. El resto llegará después.",
    "update_intro_cancelled": "Su pedido {order} fue cancelado.",
    "update_intro_cancelled_partly": (
        "Parte de su pedido {order} ya había sido enviada y sigue en camino. El resto fue cancelado."
    ),
    "update_cancel_charge_none": "No se le cobró nada.",
    "update_cancel_charge_refund_follows": "Recibirá un reembolso en su método de pago original.",
    "update_cancel_charge_refunded": "Reembolsamos {amount} a su método de pago original.",
    "update_intro_refunded": "Reembolsamos {amount} a su método de pago original.",
    "shipped_items": "Enviado",
    "cancelled_items": "Cancelado",
    "refunded_items": "Artículos reembolsados",
    "still_pending": "Por llegar",
    "tracking": "Rastree su paquete",
    "refund_total": "Reembolsado",
    "update_questions": "¿Preguntas? Llámenos al {phone}.",
    "reason_customer_request": "Se hizo a petición suya.",
    "reason_suspected_fraud": (
        "Nuestros controles de pago no pudieron confirmar esta compra. Si usted la hizo, llámenos."
    ),
    "reason_unavailable": "Algunos artículos no estaban disponibles.",
    "reason_payment_declined": "El pago no se completó.",
    "reason_store_error": "Cometimos un error con este pedido. Lo sentimos.",
    "reason_duplicate_charge": "Se le cobró dos veces la misma compra; esto elimina el cobro de más.",
    "reason_charged_in_error": "Se le cobró por error.",
    "reason_hold_expired": "La retención en su tarjeta venció antes de completar el pago.",
    "reason_not_completed": "La compra no se terminó.",
    "reason_returned": "Usted devolvió los artículos.",
    "reason_order_cancelled": "Corresponde a un pedido cancelado.",
    "reason_neutral": "La tienda hizo este cambio.",
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
