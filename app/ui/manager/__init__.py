"""The manager's window behind a PIN: receipts, export, audit and health."""
