"""Store devices (scanner, receipt printer): open/close/read/write, with dummy twins for tests."""
