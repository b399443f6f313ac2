"""Use cases: plain async Python over storage, rendering and providers. No Qt here."""
