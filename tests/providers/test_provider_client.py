"""The client the adapters share keeps connections alive, and leaves one the provider closed."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from pathlib import Path

import httpx
import pytest

from app.providers.base import HELD_MAX, provider_client
from tests.self_signed import self_signed

ANSWER = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: text/plain\r\n\r\nok"


async def test_a_kept_connection_is_reused_and_one_the_provider_closed_is_not() -> None:
    connections = 0
    closed = asyncio.Event()

    async def provider(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answers two requests on each connection, then closes it."""
        nonlocal connections
        connections += 1
        for _ in range(2):
            await reader.readuntil(b"\r\n\r\n")
            writer.write(ANSWER)
            await writer.drain()
        writer.close()
        await writer.wait_closed()
        closed.set()

    server = await asyncio.start_server(provider, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    try:
        async with provider_client(timeout=httpx.Timeout(5.0), limits=limits) as client:
            first = await client.get(f"http://127.0.0.1:{port}/a")
            second = await client.get(f"http://127.0.0.1:{port}/b")
            assert (first.text, second.text, connections) == ("ok", "ok", 1)  # one connection, kept alive
            await closed.wait()  # the provider has closed it: the pool sees it readable (at its end)
            third = await client.get(f"http://127.0.0.1:{port}/c")
            assert (third.text, connections) == ("ok", 2)
    finally:
        server.close()
        await server.wait_closed()


async def test_connections_the_provider_closed_are_found_among_several_kept_ones() -> None:
    """Three connections kept at once, each closed by the provider after its answer: the pool's one poll of
    every socket finds them, and the next three requests go on new connections, none on a closed one."""
    connections, closed = 0, 0
    all_closed = asyncio.Event()
    answered = asyncio.Event()
    waiting = 0

    async def provider(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        """Answers one request per connection once three wait, then closes it once the client holds three."""
        nonlocal connections, closed, waiting
        connections += 1
        await reader.readuntil(b"\r\n\r\n")
        waiting += 1
        if waiting % 3 == 0:
            answered.set()
        await answered.wait()
        writer.write(ANSWER)
        await writer.drain()
        writer.close()
        await writer.wait_closed()
        closed += 1
        if closed % 3 == 0:
            all_closed.set()

    server = await asyncio.start_server(provider, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    limits = httpx.Limits(max_connections=4, max_keepalive_connections=4)
    try:
        async with provider_client(timeout=httpx.Timeout(5.0), limits=limits) as client:
            first = await asyncio.gather(*(client.get(f"http://127.0.0.1:{port}/{n}") for n in range(3)))
            assert [r.text for r in first] == ["ok"] * 3 and connections == 3
            await all_closed.wait()
            all_closed.clear()
            answered.clear()
            again = await asyncio.gather(*(client.get(f"http://127.0.0.1:{port}/{n}") for n in range(3)))
            assert [r.text for r in again] == ["ok"] * 3 and connections == 6
    finally:
        server.close()
        await server.wait_closed()


async def test_a_request_reaches_the_provider_whole_small_or_larger_than_what_is_held() -> None:
    """A request's head and body go out together, whatever its size (up to `HELD_MAX` kept, then sent as it comes)."""
    bodies: list[bytes] = []

    async def provider(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        while True:
            try:
                head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            length = next(
                int(line.split(b":")[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length")
            )
            bodies.append(await reader.readexactly(length))
            writer.write(ANSWER)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(provider, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    sizes = [10, HELD_MAX - 300, HELD_MAX, 3 * HELD_MAX + 7]
    try:
        async with provider_client(timeout=httpx.Timeout(5.0), limits=httpx.Limits(max_connections=2)) as client:
            for size in sizes:
                body = bytes(n % 251 for n in range(size))
                answer = await client.post(f"http://127.0.0.1:{port}/send", content=body)
                assert answer.text == "ok" and bodies[-1] == body
    finally:
        server.close()
        await server.wait_closed()
    assert len(bodies) == len(sizes)


async def test_a_provider_whose_certificate_nobody_vouches_for_is_refused(tmp_path: Path) -> None:
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    answered = 0

    async def provider(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal answered
        with contextlib.suppress(OSError, asyncio.IncompleteReadError):
            await reader.readuntil(b"\r\n\r\n")
            answered += 1
            writer.write(ANSWER)
            await writer.drain()
        writer.close()

    server = await asyncio.start_server(provider, "127.0.0.1", 0, ssl=context)
    port = server.sockets[0].getsockname()[1]
    client = provider_client(timeout=httpx.Timeout(10), limits=httpx.Limits())
    try:
        with pytest.raises(httpx.ConnectError, match="CERTIFICATE_VERIFY_FAILED"):
            await client.get(f"https://127.0.0.1:{port}/")
    finally:
        await client.aclose()
        server.close()
    assert answered == 0  # nothing was asked of it
