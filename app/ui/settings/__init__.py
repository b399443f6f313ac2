"""The settings window: store, routing, providers and the kiosk itself."""
