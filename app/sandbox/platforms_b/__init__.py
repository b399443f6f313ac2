"""Sandbox stand-ins for the Clover, Toast, Zapier and HubSpot triggers: signed webhooks and sample payloads."""
