"""The sandbox's account for every provider it stands in for: the settings and secrets that open it.

`receiptdesk demo` configures its adapters from here, so any channel can be routed to any provider
with no real account. Each stand-in module declares its own (`account`, see app/sandbox/stand_ins.py);
none of these values opens anything but the local sandbox.
"""

from __future__ import annotations

from app.sandbox.stand_ins import SandboxAccount, stand_ins

__all__ = ["SandboxAccount", "accounts"]


def accounts(sandbox_url: str, *, store_name: str = "ReceiptDesk sandbox") -> dict[str, SandboxAccount]:
    """provider_id -> the settings (pointing at `sandbox_url`) and secrets the sandbox accepts."""
    return {provider: stand_in.account(sandbox_url, store_name) for provider, stand_in in stand_ins().items()}
