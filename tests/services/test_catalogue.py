"""The settings screens' view of providers and devices: registry data and port lists, through services."""

from __future__ import annotations

import pytest

from app.domain.channels import Channel
from app.providers.registry import ADAPTERS
from app.services import devices as device_service
from app.services.catalogue import ProviderCatalogue
from app.services.devices import DeviceService


def test_the_catalogue_lists_every_registered_provider_with_its_fields() -> None:
    catalogue = ProviderCatalogue()
    assert sorted(p.id for p in catalogue.providers()) == sorted(ADAPTERS)
    channels = [p.channel for p in catalogue.providers()]
    assert channels[0] is Channel.EMAIL and channels == sorted(channels, key=list(Channel).index)
    for info in catalogue.providers():
        cls = ADAPTERS[info.id]
        assert (info.display_name, info.channel) == (cls.display_name, cls.capabilities.channel)
        assert info.capabilities == cls.capabilities
        assert info.secret_fields == tuple(cls.secret_fields)
        assert info.setting_fields == tuple(cls.setting_fields)


def test_the_catalogue_groups_providers_by_channel_by_name() -> None:
    catalogue = ProviderCatalogue()
    email = catalogue.for_channel(Channel.EMAIL)
    assert email and all(p.channel is Channel.EMAIL for p in email)
    registered = [cls for cls in ADAPTERS.values() if cls.capabilities.channel is Channel.EMAIL]
    by_name = sorted(registered, key=lambda cls: cls.display_name.casefold())
    assert [p.id for p in email] == [cls.provider_id for cls in by_name]


async def test_serial_ports_are_listed_off_the_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(device_service, "list_serial_ports", lambda: [("COM3", "USB-Serial")])
    assert await DeviceService().serial_ports() == [("COM3", "USB-Serial")]
