"""The Qt kiosk: cashier, customer-facing, manager and settings windows.

The only package that imports PySide6 and qasync. Windows call services (`app.services`) and
nothing else; service events reach them as `sig_*` signals through `bridge.EventBridge`.
"""
