"""What every provider adapter is, and the one place httpx errors become ours.

An adapter translates one `OutboundMessage` into the provider's HTTP request (a pure payload
builder) and the provider's response into a `SendResult` (a pure response parser). It declares
its capabilities as data, takes its credentials and the shared `httpx.AsyncClient` as constructor
arguments, and never reads keyring, environment or database. It never retries: `RetryPolicy` does.

`HttpAdapter` owns everything else: building from settings and secrets by the declared fields,
the channel check, sending, error translation, the debug line and a `repr` free of secrets. An
adapter module keeps its class data, its request builder and its response parser.
"""

from __future__ import annotations

import email.utils
import logging
import select
import ssl
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from threading import get_ident
from typing import Any, ClassVar, Protocol, Self
from urllib.parse import urlsplit

import anyio.abc
import httpcore
import httpx
from httpcore._backends.anyio import AnyIOBackend, AnyIOStream
from httpcore._utils import is_socket_readable

from app.domain.channels import Channel
from app.domain.doubt import Lookup
from app.domain.errors import (
    ConfigurationError,
    PermanentProviderError,
    TransientProviderError,
    UnsupportedFeature,
)
from app.domain.message import OutboundMessage, SendResult
from app.domain.plugins import SecretField, SettingField, require_fields
from app.domain.tracking import EventKind, StatusAnswer, StatusCheck

log = logging.getLogger(__name__)


# --- the connection pool providers are reached through ---------------------------------------------
HELD_MAX = 64 * 1024
"""The most of a request a pooled stream keeps before sending it (`_PooledStream.write`)."""


class _PooledStream(AnyIOStream):
    """httpcore's anyio stream with its socket kept at hand.

    Before every request, and after every answer, the pool asks each idle keep-alive connection whether
    its socket is readable (a provider that closed it); anyio answers by rebuilding every attribute of the
    socket, two system calls included, each time. Here the answer is the one its pool's `_Backend.look`
    found for every socket at once, or else one `poll` of the socket, as httpcore itself does it.
    """

    def __init__(self, stream: anyio.abc.ByteStream, backend: _Backend) -> None:
        super().__init__(stream)
        self._socket = stream.extra(anyio.abc.SocketAttribute.raw_socket, None)  # noqa: S610 (anyio, not Django)
        self._backend = backend
        self._held = b""  # what httpcore wrote of a request, not yet sent (see `write`)
        self._held_timeout: float | None = None
        backend.streams.add(self)

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:  # noqa: ASYNC109 (httpcore's)
        """Keep a request's parts (httpcore writes its head and its body apart) and send them in one piece when
        its answer is first read: one system call and one packet per request instead of two. A request of
        `HELD_MAX` bytes or more goes out as it comes."""
        held = self._held + buffer
        if len(held) < HELD_MAX:
            self._held, self._held_timeout = held, timeout
            return
        self._held = b""
        await super().write(held, timeout)

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:  # noqa: ASYNC109 (httpcore's)
        if self._held:
            held, self._held = self._held, b""
            # As httpcore does with a request it could not finish writing: read the answer a provider that
            # closed early may have sent; the read then says what became of the request.
            with suppress(httpcore.WriteError):
                await super().write(held, self._held_timeout)
        return await super().read(max_bytes, timeout)

    def get_extra_info(self, info: str) -> Any:
        if info == "is_readable":
            looking, found = self._backend.found
            if looking != get_ident() or self._socket is None or self._socket.fileno() < 0:
                return is_socket_readable(self._socket)  # a socket gone answers readable, as in httpcore
            return self in found
        if info == "socket":
            return self._socket
        return super().get_extra_info(info)

    async def aclose(self) -> None:
        self._held = b""  # a request whose answer is never read never leaves
        self._backend.streams.discard(self)
        await super().aclose()

    async def start_tls(  # httpcore's signature
        self,
        ssl_context: ssl.SSLContext,
        server_hostname: str | None = None,
        timeout: float | None = None,  # noqa: ASYNC109
    ) -> httpcore.AsyncNetworkStream:
        secured = await super().start_tls(ssl_context, server_hostname, timeout)
        self._backend.streams.discard(self)
        return _PooledStream(secured._stream, self._backend) if isinstance(secured, AnyIOStream) else secured


class _Backend(AnyIOBackend):
    """httpcore's anyio backend, keeping the streams it opened (until closed) so their sockets can be
    polled together."""

    def __init__(self) -> None:
        self.streams: set[_PooledStream] = set()
        self.found: tuple[int | None, frozenset[_PooledStream]] = (None, frozenset())
        """While the pool looks (`look`): the thread looking, and the streams whose sockets were found readable.
        Any other thread's question is answered by a poll of its own."""

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's signature)
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        stream = await super().connect_tcp(host, port, timeout, local_address, socket_options)
        return _PooledStream(stream._stream, self) if isinstance(stream, AnyIOStream) else stream

    @contextmanager
    def look(self, *, poll: bool = True) -> Iterator[None]:
        """Within the block, each stream answers whether its socket is readable as one `poll` of every
        socket found just before: the same answer as one poll each, a system call instead of one per
        connection. No await can come between the look and the answers (the pool asks synchronously).

        Without `poll`, every open socket answers not readable: for a pool with no request to place, where
        a connection the provider closed is then found at the next request, before any is placed on it."""
        if poll and (len(self.streams) < 2 or not hasattr(select, "poll")):
            yield
            return
        found: frozenset[_PooledStream] = frozenset()
        if poll:
            poller = select.poll()
            by_fd: dict[int, _PooledStream] = {}
            for stream in list(self.streams):
                fd = -1 if stream._socket is None else stream._socket.fileno()
                if fd < 0:  # closed without its stream: nothing to poll, nor to keep
                    self.streams.discard(stream)
                    continue
                by_fd[fd] = stream
                poller.register(fd, select.POLLIN)
            found = frozenset(by_fd[fd] for fd, _events in poller.poll(0) if fd in by_fd)
        self.found = (get_ident(), found)
        try:
            yield
        finally:
            self.found = (None, frozenset())


class _Pool(httpcore.AsyncConnectionPool):
    """httpcore's pool (1.0), whose keep-alive check polls every socket of its backend at once (`_Backend.look`),
    and whose pass over its connections, made before every request and after every answer, is linear.

    httpcore's own pass counts the connections anew for each idle one (`len([c.is_idle() for c in ...])`,
    the length of the list, not the idle ones): with the dispatcher's dozen or more connections, hundreds
    of calls per request. `_assign_requests_to_connections` below is httpcore 1.0.9's, step for step, with
    that count read once per connection as `len(self._connections)`, the same number.
    """

    def __init__(self, *, backend: _Backend, **options: Any) -> None:
        super().__init__(network_backend=backend, **options)
        self._looking = backend

    def _assign_requests_to_connections(self) -> list[httpcore.AsyncConnectionInterface]:
        queued = [request for request in self._requests if request.is_queued()]
        # After an answer with no request waiting, nothing is placed on a connection: no socket is polled.
        with self._looking.look(poll=bool(queued)):
            return self._assign(queued)

    def _assign(self, queued: list[Any]) -> list[httpcore.AsyncConnectionInterface]:
        closing: list[httpcore.AsyncConnectionInterface] = []
        connections = self._connections
        for connection in list(connections):
            if connection.is_closed():
                connections.remove(connection)
            elif connection.has_expired() or (
                connection.is_idle() and len(connections) > self._max_keepalive_connections
            ):
                connections.remove(connection)
                closing.append(connection)
        for pool_request in queued:
            origin = pool_request.request.url.origin
            available = next((c for c in connections if c.can_handle_request(origin) and c.is_available()), None)
            if available is not None:
                pool_request.assign_to_connection(available)
                continue
            if len(connections) >= self._max_connections:
                idle = next((c for c in connections if c.is_idle()), None)
                if idle is None:
                    continue  # the request waits for a connection
                connections.remove(idle)
                closing.append(idle)
            connection = self.create_connection(origin)
            connections.append(connection)
            pool_request.assign_to_connection(connection)
        return closing


class ProviderTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (HTTP/1.1 keep-alive, certificates checked, no proxy), on `_PooledStream`s.

    The client every adapter shares is built on it (`provider_client`); anything httpx does with a
    transport's answer (errors, streams, timeouts) is unchanged.
    """

    def __init__(self, *, limits: httpx.Limits) -> None:
        ssl_context = httpx.create_ssl_context()  # once: loading the system's certificates takes ~20 ms
        super().__init__(verify=ssl_context, limits=limits)
        self._pool = _Pool(
            ssl_context=ssl_context,
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            backend=_Backend(),
        )


def provider_client(*, timeout: httpx.Timeout, limits: httpx.Limits) -> httpx.AsyncClient:
    """The one `httpx.AsyncClient` the adapters share (built and closed by the composition root)."""
    return httpx.AsyncClient(timeout=timeout, transport=ProviderTransport(limits=limits))


# --- end of the connection pool ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Capabilities:
    """What a provider can do, read by services and the UI."""

    channel: Channel
    max_body_chars: int | None = None
    supports_attachments: bool = False
    supports_templates: bool = False
    supports_idempotency_key: bool = False
    rate_per_sec: float | None = None
    delivery_receipts: bool = False


class ProviderAdapter(Protocol):
    """The contract every `app/providers/<provider_id>.py` class fulfils."""

    provider_id: ClassVar[str]
    display_name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    secret_fields: ClassVar[tuple[SecretField, ...]]
    setting_fields: ClassVar[tuple[SettingField, ...]]
    default_base_url: ClassVar[str]

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one message. Raises `TransientProviderError` or `PermanentProviderError`."""
        ...

    async def look_up(self, message: OutboundMessage, *, sent_after: datetime) -> Lookup | None:
        """Ask the provider whether it took `message` (by its delivery reference, the idempotency key)
        since `sent_after`; None when this provider cannot be asked."""
        ...


@dataclass(frozen=True, slots=True)
class CredentialCheck:
    """A provider's answer to a harmless authenticated call: were our credentials accepted?

    `accepted` is None when the answer says nothing either way (rate-limited, the provider's own
    failure, or a credential that may send but not read). `call` names what was asked
    (`GET /v3/scopes`, never a secret); `server_date` is the answer's `Date` header, when it had one.
    """

    accepted: bool | None
    detail: str
    call: str
    server_date: datetime | None = None


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """One request to a provider, as an adapter builds it; `HttpAdapter.send` puts it on the wire."""

    url: str
    method: str = "POST"
    json: Any = None
    content: bytes | None = None
    data: Mapping[str, Any] | None = None
    files: Any = None  # httpx's multipart files argument
    headers: Mapping[str, str] = field(default_factory=dict)
    auth: httpx.Auth | None = None


CHANNEL_NOUNS: Mapping[Channel, str] = {
    Channel.EMAIL: "e-mail",
    Channel.SMS: "SMS",
    Channel.WHATSAPP: "WhatsApp messages",
    Channel.PUSH: "push notifications",
    Channel.PRINT: "printed receipts",
    Channel.CHAT: "chat messages",
    Channel.CRM: "CRM records",
}


class HttpAdapter(ABC):
    """The base of every HTTP provider adapter: class data, `create`, the channel check, `send`, `repr`.

    A subclass declares its class data, takes its secret and setting fields as keyword arguments
    of `__init__` (after the shared client), and implements `request` (message → `HttpRequest`,
    pure) and `parse_response` (response → `SendResult`, raising the classified error otherwise).
    """

    provider_id: ClassVar[str]
    display_name: ClassVar[str]
    capabilities: ClassVar[Capabilities]
    default_base_url: ClassVar[str] = ""
    secret_fields: ClassVar[tuple[SecretField, ...]] = ()
    setting_fields: ClassVar[tuple[SettingField, ...]] = ()
    shown: ClassVar[tuple[str, ...]] = ("base_url",)
    """Attributes (stored as `_<name>`) that `repr` shows: identifying settings, never a secret."""
    callback_url_setting: ClassVar[str | None] = None
    """The setting that carries our status-callback URL to the provider, when the wiring fills it in."""
    credential_check_doc: ClassVar[str | None] = None
    """Where the provider documents the harmless call `credential_request` makes (or the token grant
    an OAuth adapter's check is); None when the provider has none, as an incoming webhook, which
    only a real post can prove."""

    lookup_doc: ClassVar[str | None] = None
    """Where the provider documents the call `lookup_request` makes to find a message it may have
    taken, by the delivery's reference; None when it has no such call (an attempt in doubt then
    follows the channel's in-doubt policy)."""

    lookup_refused: ClassVar[frozenset[int]] = frozenset({401, 403})
    """Answers to a lookup that mean this account cannot be asked at all (no read permission, no
    add-on): the attempt then follows the channel's in-doubt policy instead of waiting in doubt."""

    status_doc: ClassVar[str | None] = None
    """Where the provider documents the call `status_request` makes to read the status of a message it
    accepted, by the id it answered with; None when it has none (its deliveries wait for callbacks)."""

    status_refused: ClassVar[frozenset[int]] = frozenset({401, 403})
    """Answers to a status check that mean this account cannot be asked at all (no read permission)."""

    def __init__(self, http: httpx.AsyncClient, *, base_url: str | None = None) -> None:
        self._http = http
        self._base_url = (base_url or self.default_base_url).rstrip("/")

    @classmethod
    def create(cls, http: httpx.AsyncClient, settings: Mapping[str, Any], secrets: Mapping[str, str | None]) -> Self:
        """Build from the settings file and the keyring; a missing required field fails here, by name."""
        where = {"label": cls.display_name, "owner": cls.provider_id, "section": f"providers.{cls.provider_id}"}
        values = require_fields(secrets, cls.secret_fields, **where)
        values |= require_fields(settings, cls.setting_fields, **where)
        return cls(http, **values)

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={getattr(self, '_' + name, None)!r}" for name in self.shown)
        return f"{type(self).__name__}({shown})"

    def check_channel(self, message: OutboundMessage) -> None:
        """Refuse a message for another channel than the one this provider sends."""
        channel = self.capabilities.channel
        if message.channel != channel:
            noun = CHANNEL_NOUNS.get(channel, str(channel))
            raise UnsupportedFeature(f"{self.display_name} sends {noun}, not {message.channel}.")

    @abstractmethod
    def request(self, message: OutboundMessage) -> HttpRequest:
        """The request for one message (pure: no I/O). Raises `UnsupportedFeature`/`PermanentProviderError`."""

    @abstractmethod
    def parse_response(self, response: httpx.Response) -> SendResult:
        """A `SendResult` for a success answer; raises the classified error for any other."""

    def result(self, response: httpx.Response, message: OutboundMessage) -> SendResult:
        """The outcome of sending `message`; adapters whose parser needs the message override this."""
        return self.parse_response(response)

    async def transmit(self, request: HttpRequest) -> httpx.Response:
        """Put one request on the wire through the shared client (OAuth adapters add their token here)."""
        return await self._http.request(
            request.method,
            request.url,
            json=request.json,
            content=request.content,
            data=request.data,
            files=request.files,
            headers=request.headers,
            auth=request.auth if request.auth is not None else httpx.USE_CLIENT_DEFAULT,
        )

    def credential_request(self) -> HttpRequest | None:
        """A harmless authenticated request (it reads, it sends nothing) that succeeds only with good
        credentials, or None when the provider has no such call. Pure: no I/O."""
        return None

    def credentials_accepted(self, response: httpx.Response) -> tuple[bool | None, str]:
        """Whether the answer to `credential_request` accepted our credentials (None: it cannot tell), and why."""
        return credential_verdict(self.display_name, response)

    async def check_credentials(self) -> CredentialCheck | None:
        """Ask the provider, sending nothing, whether our credentials are good; None when it has no way to ask.

        Raises `TransientProviderError` when the provider cannot be reached.
        """
        request = self.credential_request()
        if request is None:
            return None
        with translate_http_errors(self.display_name):
            response = await self.transmit(request)
        accepted, detail = self.credentials_accepted(response)
        call = f"{request.method} {urlsplit(request.url).path}"
        return CredentialCheck(accepted, detail, call, server_date=response_date(response))

    @classmethod
    def can_look_up(cls) -> bool:
        """Whether an attempt in doubt can be settled by asking this provider."""
        return cls.lookup_doc is not None

    def lookup_request(self, message: OutboundMessage, *, sent_after: datetime) -> HttpRequest | None:
        """The request that finds `message` at the provider by its delivery reference (pure: no I/O),
        or None when the provider cannot be asked. Adapters with a `lookup_doc` override it."""
        return None

    def parse_lookup(self, response: httpx.Response, message: OutboundMessage) -> Lookup:
        """Whether the answer to `lookup_request` holds `message`; `Lookup(found=None)` when it cannot tell."""
        raise NotImplementedError(f"{self.display_name} declares no lookup")

    async def look_up(self, message: OutboundMessage, *, sent_after: datetime) -> Lookup | None:
        """Ask the provider whether it took `message` since `sent_after`; None when it cannot be asked.

        A provider that cannot be reached, or answers with an error, gives `Lookup(found=None)`: the
        attempt stays in doubt and is asked about again later. An answer in `lookup_refused` (or
        credentials the provider refuses for reading) means this account can never be asked: None.
        """
        request = self.lookup_request(message, sent_after=sent_after)
        if request is None:
            return None
        response = await self._ask(request, self.lookup_refused, "a lookup", "about sent messages")
        if response is None or isinstance(response, str):  # cannot be asked; or ask again later
            return None if response is None else Lookup(found=None, detail=response)
        if not response.is_success:
            return Lookup(found=None, detail=f"{self.display_name} answered {response.status_code} to the lookup")
        return self.parse_lookup(response, message)

    async def _ask(
        self, request: HttpRequest, refused: frozenset[int], question: str, about: str
    ) -> httpx.Response | str | None:
        """Put a read-only question (a lookup, a status check) to the provider: its answer; the sentence
        of a transient failure (ask again later); or None when this account can never be asked (an
        answer in `refused`, or an OAuth grant without the reading scope)."""
        try:
            with translate_http_errors(self.display_name):
                response = await self.transmit(request)
        except TransientProviderError as exc:
            return exc.message
        except PermanentProviderError as exc:
            log.warning("%s cannot be asked %s: %s", self.display_name, about, exc.message)
            return None
        if response.status_code in refused:
            log.warning(
                "%s refused %s (%s): this account cannot be asked %s",
                self.display_name,
                question,
                response.status_code,
                about,
            )
            return None
        return response

    # --- the status of a message the provider accepted (docs/providers.md § Asking for a status) ----

    @classmethod
    def can_check_status(cls) -> bool:
        """Whether the status of a message this provider accepted can be asked for."""
        return cls.status_doc is not None

    def status_request(self, provider_message_id: str, *, reference: str | None = None) -> HttpRequest | None:
        """The request that reads the status of the message with `provider_message_id` (pure: no I/O),
        or None when the provider cannot be asked. `reference` is the delivery's own (the idempotency key),
        for a provider that finds a message by it. Adapters with a `status_doc` override it."""
        return None

    def parse_status(self, response: httpx.Response, provider_message_id: str) -> StatusAnswer:
        """The status a success answer to `status_request` gives, in the callbacks' vocabulary."""
        raise NotImplementedError(f"{self.display_name} declares no status check")

    def status_not_found(self, response: httpx.Response) -> bool:
        """Whether an error answer means the provider has no message with that id (a 404, by default)."""
        return response.status_code == 404

    async def check_status(self, provider_message_id: str, *, reference: str | None = None) -> StatusCheck | None:
        """Ask the provider once for the status of a message it accepted; None when it cannot be asked.

        Unreachable, or an error answer (408, 429, 5xx...): `StatusCheck(error=...)`, to be asked again
        later. An answer in `status_refused` means this account can never be asked: None. An answer that
        the provider has no such message is an answer (`EventKind.UNKNOWN`, raw status `not found`).
        """
        request = self.status_request(provider_message_id, reference=reference)
        if request is None:
            return None
        response = await self._ask(request, self.status_refused, "a status check", "for a message's status")
        if response is None or isinstance(response, str):  # cannot be asked; or ask again later
            return None if response is None else StatusCheck(error=response)
        if self.status_not_found(response):
            detail = f"{self.display_name} has no message {provider_message_id}"
            return StatusCheck(StatusAnswer(EventKind.UNKNOWN, "not found", detail, raw=_short(response)))
        if not response.is_success:
            return StatusCheck(error=f"{self.display_name} answered {response.status_code} to the status check")
        try:
            return StatusCheck(self.parse_status(response, provider_message_id))
        except ValueError as exc:  # a body that is not what the provider documents
            return StatusCheck(error=f"{self.display_name} answered the status check unreadably: {exc}")

    async def send(self, message: OutboundMessage) -> SendResult:
        """Send one message. Raises `TransientProviderError` or `PermanentProviderError`."""
        request = self.request(message)
        with translate_http_errors(self.display_name):
            response = await self.transmit(request)
        result = self.result(response, message)
        log.debug(
            "%s: sent %s as %s (%s)",
            self.provider_id,
            message.idempotency_key,
            result.provider_message_id,
            result.raw_status,
        )
        return result


def _short(response: httpx.Response, limit: int = 2000) -> str:
    """The start of an answer's body, kept with the event it became (for support)."""
    return response.text[:limit]


def require(values: Mapping[str, str | None], provider: str, *names: str) -> tuple[str, ...]:
    """Return the named settings, or fail at construction naming the missing one.

    Only for settings: a missing secret is reported by `require_fields`, which says to store it in
    the keyring (the settings file refuses secrets).
    """
    missing = [n for n in names if not values.get(n)]
    if missing:
        raise ConfigurationError(
            f"{provider}: missing {', '.join(missing)}. Set it in the provider's section of the settings file."
        )
    return tuple(str(values[n]) for n in names)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header (delta-seconds or HTTP date), or None."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def credential_verdict(provider: str, response: httpx.Response) -> tuple[bool | None, str]:
    """The usual reading of an answer to a credential check: 2xx accepted, 401/403 refused,
    408/425/429/5xx undecided (try again later), any other 4xx refused with its status."""
    status = response.status_code
    phrase = f"{status} {response.reason_phrase}".strip()
    if response.is_success:
        return True, f"{provider} accepted the credentials."
    if status in (401, 403):
        return False, f"{provider} refused the credentials ({phrase})."
    if status in (408, 425, 429) or status >= 500:
        return None, f"{provider} could not say whether the credentials are good ({phrase}); try again later."
    return False, f"{provider} answered {phrase} to the credential check."


def response_date(response: httpx.Response) -> datetime | None:
    """The answer's `Date` header as an aware datetime, or None when it has none or it is malformed."""
    value = response.headers.get("Date")
    if not value:
        return None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return when if when.tzinfo is not None else when.replace(tzinfo=UTC)


@contextmanager
def translate_http_errors(provider: str) -> Iterator[None]:
    """Turn httpx transport exceptions into our error classes, at this one boundary.

    A connect failure means the provider never saw the request (safe to fail over); a timeout or
    broken connection after sending is ambiguous (the message may have been accepted).
    """
    try:
        yield
    except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
        raise TransientProviderError(f"{provider} could not be reached: no connection could be made.") from exc
    except (httpx.ReadTimeout, httpx.WriteTimeout) as exc:
        raise TransientProviderError(f"{provider} did not answer in time.", ambiguous=True) from exc
    except (httpx.RemoteProtocolError, httpx.ReadError) as exc:  # a dropped line, not a timeout
        raise TransientProviderError(
            f"The connection to {provider} dropped before it answered.", ambiguous=True
        ) from exc
    except httpx.HTTPError as exc:
        raise TransientProviderError(f"{provider} could not be reached: the request did not go through.") from exc


def classify_status(
    provider: str, response: httpx.Response, detail: str, *, retry_after: float | None = None, code: str | None = None
) -> TransientProviderError | PermanentProviderError:
    """The error for a non-success HTTP status: 408/429/5xx are transient, every other 4xx permanent."""
    status = response.status_code
    text = f"{provider} answered {status}: {detail}"
    if status in (408, 425, 429) or status >= 500:
        hint = retry_after if retry_after is not None else parse_retry_after(response.headers.get("Retry-After"))
        return TransientProviderError(text, status_code=status, code=code, retry_after=hint)
    return PermanentProviderError(text, status_code=status, code=code)
