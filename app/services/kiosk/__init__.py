"""The kiosk's use cases: the sale at the till (`views`), sending its receipt (`sending`), the
managers' door (`lock`), and `KioskService` over them (`service`). The windows import from here."""

from app.services.kiosk.lock import AccessDenied, ManagerLock
from app.services.kiosk.sending import ReceiptChoice, SendOutcome, SendRequest
from app.services.kiosk.service import KioskService, search_text, start_of_day
from app.services.kiosk.views import CustomerView, DeliveryView, KioskSale, ReceiptPreview

__all__ = [
    "AccessDenied",
    "CustomerView",
    "DeliveryView",
    "KioskSale",
    "KioskService",
    "ManagerLock",
    "ReceiptChoice",
    "ReceiptPreview",
    "SendOutcome",
    "SendRequest",
    "search_text",
    "start_of_day",
]
