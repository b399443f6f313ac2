"""`receiptdesk demo`: the product against the local sandbox, with no account anywhere.

`wiring` points every provider and platform at the sandbox; `headless` runs the simulated POS and
reports the figures.
"""
