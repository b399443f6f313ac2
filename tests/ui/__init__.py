"""Tests of the Qt kiosk (offscreen) and its Qt-free helpers."""
