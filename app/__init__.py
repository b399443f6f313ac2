"""ReceiptDesk: the in-store e-receipt kiosk and hub."""

__version__ = "0.1.0"
