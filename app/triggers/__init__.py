"""Triggers: one module per source, translating its payloads into domain `TriggerEvent`s."""
