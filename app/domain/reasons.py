"""Why an order was cancelled or refunded, in one closed vocabulary every platform maps into.

A platform's reason code is written for its merchants, not for shoppers ("Reason: customer"), so no
code ever reaches a customer: each platform's table below maps its codes to a `Reason`, and the
catalogue (`app/rendering/i18n.py`, keys `reason_<value>`) says each one as a sentence. A code a table
does not know, or free text a platform lets staff type, becomes `Reason.NEUTRAL` ("the store made
this change"); a platform that gives no reason at all gives `None`, and the message says nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType
from typing import Any, Final


class Reason(StrEnum):
    """A reason a shopper understands; the value names its sentence in the catalogue."""

    CUSTOMER_REQUEST = "customer_request"
    SUSPECTED_FRAUD = "suspected_fraud"
    UNAVAILABLE = "unavailable"
    PAYMENT_DECLINED = "payment_declined"
    STORE_ERROR = "store_error"
    DUPLICATE_CHARGE = "duplicate_charge"
    CHARGED_IN_ERROR = "charged_in_error"
    HOLD_EXPIRED = "hold_expired"
    NOT_COMPLETED = "not_completed"
    RETURNED = "returned"
    ORDER_CANCELLED = "order_cancelled"
    NEUTRAL = "neutral"


def _table(entries: dict[str, Reason]) -> Mapping[str, Reason]:
    return MappingProxyType(entries)


# Shopify Order `cancel_reason`: customer, declined, fraud, inventory, other, staff
# (https://shopify.dev/docs/api/admin-rest/latest/resources/order#resource-object, "cancel_reason").
SHOPIFY_CANCEL: Final = _table(
    {
        "customer": Reason.CUSTOMER_REQUEST,
        "declined": Reason.PAYMENT_DECLINED,
        "fraud": Reason.SUSPECTED_FRAUD,
        "inventory": Reason.UNAVAILABLE,
        "staff": Reason.STORE_ERROR,
        "other": Reason.NEUTRAL,
    }
)
# Shopify refunds carry no reason code: `note` is what staff typed, and the admin says "only you and
# other staff can see this reason" (https://help.shopify.com/en/manual/fulfillment/managing-orders/
# returns/refund-only), so it is never shown; a refund with a note says the neutral sentence.

# Stripe Refund `reason`: duplicate, fraudulent, requested_by_customer, expired_uncaptured_charge
# (https://docs.stripe.com/api/refunds/object#refund_object-reason).
STRIPE_REFUND: Final = _table(
    {
        "duplicate": Reason.DUPLICATE_CHARGE,
        "fraudulent": Reason.SUSPECTED_FRAUD,
        "requested_by_customer": Reason.CUSTOMER_REQUEST,
        "expired_uncaptured_charge": Reason.HOLD_EXPIRED,
    }
)
# Stripe PaymentIntent `cancellation_reason`: abandoned, automatic, duplicate, expired, failed_invoice,
# fraudulent, requested_by_customer, void_invoice
# (https://docs.stripe.com/api/payment_intents/object#payment_intent_object-cancellation_reason).
STRIPE_CANCELLATION: Final = _table(
    {
        "abandoned": Reason.NOT_COMPLETED,
        "automatic": Reason.HOLD_EXPIRED,
        "duplicate": Reason.DUPLICATE_CHARGE,
        "expired": Reason.HOLD_EXPIRED,
        "failed_invoice": Reason.PAYMENT_DECLINED,
        "fraudulent": Reason.SUSPECTED_FRAUD,
        "requested_by_customer": Reason.CUSTOMER_REQUEST,
        "void_invoice": Reason.NEUTRAL,
    }
)
# Square PaymentRefund `reason` is free text (https://developer.squareup.com/reference/square/objects/
# PaymentRefund, "reason"); Square's point of sale offers these choices, which arrive as written
# (https://squareup.com/help/us/en/article/5060-refund-payments): anything else is neutral.
# A CANCELED order (`order.updated` with `state` CANCELED, https://developer.squareup.com/reference/
# square/enums/OrderState) carries no reason.
SQUARE_REFUND: Final = _table(
    {
        "returned goods": Reason.RETURNED,
        "accidental charge": Reason.CHARGED_IN_ERROR,
        "canceled order": Reason.ORDER_CANCELLED,
        "cancelled order": Reason.ORDER_CANCELLED,
        "fraudulent charge": Reason.SUSPECTED_FRAUD,
    }
)
# Clover Payment `voidReason` (com.clover.sdk.v3.order.VoidReason; https://docs.clover.com/dev/reference/
# paygetpayment, "voidReason"): a voided payment is a cancellation that never reached the card statement.
CLOVER_VOID: Final = _table(
    {
        "USER_CANCEL": Reason.NEUTRAL,
        "USER_CUSTOMER_CANCEL": Reason.CUSTOMER_REQUEST,
        "REJECT_DUPLICATE": Reason.DUPLICATE_CHARGE,
        "FRAUD": Reason.SUSPECTED_FRAUD,
        "NOT_APPROVED": Reason.PAYMENT_DECLINED,
        "FAILED": Reason.PAYMENT_DECLINED,
        "REJECT_SIGNATURE": Reason.PAYMENT_DECLINED,
        "REJECT_PARTIAL_AUTH": Reason.PAYMENT_DECLINED,
        "REJECT_OFFLINE": Reason.PAYMENT_DECLINED,
        "TRANSPORT_ERROR": Reason.PAYMENT_DECLINED,
        "AUTH_CLOSED_NEW_CARD": Reason.PAYMENT_DECLINED,
    }
)
# Clover Refund objects (https://docs.clover.com/dev/reference/paygetrefunds-3) carry no reason code:
# a Clover refund says no reason.


def reason(table: Mapping[str, Reason], code: Any, *, fold: bool = False) -> Reason | None:
    """`code` through `table`: None when the platform gave none, `Reason.NEUTRAL` for one it does not list.

    `fold` matches case-insensitively and ignores surrounding space (for reasons typed by people).
    """
    if not isinstance(code, str) or not code.strip():
        return None
    key = " ".join(code.split()).casefold() if fold else code.strip()
    return table.get(key, Reason.NEUTRAL)


def stored_reason(value: Any) -> Reason | None:
    """A reason as stored with an update; anything else (free text kept by an older version) is neutral."""
    if value is None or value == "":
        return None
    try:
        return Reason(value)
    except ValueError:
        return Reason.NEUTRAL
