"""A listening port belongs to one process, on POSIX and on Windows: the option chosen per platform."""

from __future__ import annotations

import socket

import pytest

from app.devices.passthrough import TcpPassthrough
from app.support import listening
from app.support.asgi_server import start_asgi_server


def test_windows_gets_exclusive_address_use_and_never_reuse_address(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(listening.sys, "platform", "win32")
    monkeypatch.delattr(socket, "SO_EXCLUSIVEADDRUSE", raising=False)  # as on this machine: the name is Windows'
    option, value = listening.exclusive_address_option()
    assert (option, value) == (listening.WINDOWS_SO_EXCLUSIVEADDRUSE, 1)
    assert option == -5  # Winsock's SO_EXCLUSIVEADDRUSE, ~SO_REUSEADDR with Winsock's SO_REUSEADDR of 4
    assert option != socket.SO_REUSEADDR


def test_windows_uses_the_socket_modules_own_constant_where_it_has_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "SO_EXCLUSIVEADDRUSE", -5, raising=False)
    assert listening.exclusive_address_option("win32") == (-5, 1)


@pytest.mark.parametrize("platform", ["linux", "darwin", "freebsd14"])
def test_posix_keeps_reuse_address_which_there_only_skips_time_wait(platform: str) -> None:
    assert listening.exclusive_address_option(platform) == (socket.SO_REUSEADDR, 1)


def test_the_windows_choice_is_what_the_socket_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    given: list[tuple[int, int, int]] = []

    class Recording(socket.socket):
        def setsockopt(self, level: int, option: int, value: int) -> None:  # type: ignore[override]
            given.append((level, option, value))

    monkeypatch.setattr(listening.sys, "platform", "win32")
    monkeypatch.setattr(listening.socket, "socket", Recording)
    sock = listening.listening_socket("127.0.0.1", 0)
    sock.close()
    assert given == [(socket.SOL_SOCKET, listening.WINDOWS_SO_EXCLUSIVEADDRUSE, 1)]


def test_a_second_listener_on_the_same_port_is_refused_at_once() -> None:
    first = listening.listening_socket("127.0.0.1", 0)
    try:
        port = first.getsockname()[1]
        with pytest.raises(OSError, match="ddress already in use"):
            listening.listening_socket("127.0.0.1", port).close()
    finally:
        first.close()


async def test_the_api_server_and_the_print_pass_through_both_refuse_a_taken_port() -> None:
    async def app(scope: object, receive: object, send: object) -> None:  # never called
        raise AssertionError

    server = await start_asgi_server(app, name="first")  # type: ignore[arg-type]
    try:
        with pytest.raises(OSError, match="ddress already in use"):
            await start_asgi_server(app, port=server.port, name="second")  # type: ignore[arg-type]
        passthrough = TcpPassthrough("127.0.0.1", server.port, "127.0.0.1", 9, lambda _: None)
        with pytest.raises(OSError, match="ddress already in use"):
            await passthrough.start()
    finally:
        await server.stop()
