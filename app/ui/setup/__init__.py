"""The set-up assistant a kiosk opens on its first run, before the cashier window.

`assistant` is the window and its flow; `steps` the store, printer and kiosk steps (reusing the
settings window's pages); `channel_step` a channel's provider with its "Send a test".
"""
