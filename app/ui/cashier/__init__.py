"""The cashier's window: incoming sales, the sale at hand, and earlier receipts."""
