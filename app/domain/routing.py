"""Which providers carry each channel, in order of preference."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from app.domain.channels import Channel


@dataclass(frozen=True, slots=True)
class Routing:
    """Per channel an ordered provider chain: the first is the primary, the rest are fallbacks."""

    chains: Mapping[Channel, tuple[str, ...]] = field(default_factory=dict)

    def primary(self, channel: Channel) -> str | None:
        chain = self.chains.get(channel, ())
        return chain[0] if chain else None

    def primaries(self) -> dict[Channel, str]:
        return {channel: chain[0] for channel, chain in self.chains.items() if chain}

    def alternatives(self, channel: Channel, current: str) -> tuple[str, ...]:
        """The other providers of `channel`, in order, starting after `current` and wrapping around."""
        chain = self.chains.get(channel, ())
        if current not in chain:
            return chain
        at = chain.index(current)
        return chain[at + 1 :] + chain[:at]

    def providers(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(p for chain in self.chains.values() for p in chain))
