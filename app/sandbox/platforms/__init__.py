"""Stand-ins for the commerce platforms that call ReceiptDesk: signed webhooks, sample events, APIs."""
