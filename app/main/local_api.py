"""Starting the local API as `serve` and the kiosk do: over TLS when `[api] tls_cert` and `tls_key` are
set, and never as plain HTTP beyond this machine unless the operator said so (`serve --insecure-lan`)."""

from __future__ import annotations

import logging
import ssl
from dataclasses import dataclass
from pathlib import Path

from app.config.settings import ApiSettings
from app.domain.errors import ConfigurationError
from app.main.runtime import Runtime
from app.server.guards import is_loopback
from app.support.asgi_server import RunningServer, start_asgi_server

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Transport:
    """How the API is reached: the PEM files of its TLS certificate, or plain HTTP (`plain_lan` when
    that plain HTTP is open to the network, which the operator accepted)."""

    cert: str | None = None
    key: str | None = None
    plain_lan: bool = False

    @property
    def tls(self) -> bool:
        return self.cert is not None


def transport_for(
    settings: ApiSettings, host: str, *, insecure_lan: bool = False, flag: str | None = None
) -> Transport:
    """How the API may listen on `host`; `ConfigurationError` (one line) when it may not.

    Beyond loopback it needs TLS, or `insecure_lan` (the operator's `flag`, named in the refusal when
    the face has one).
    """
    cert, key = _tls_files(settings)
    if cert is not None and key is not None:
        return Transport(cert, key)
    if is_loopback(host):
        return Transport()
    if insecure_lan:
        return Transport(plain_lan=True)
    other = f", or start with {flag} to accept plain HTTP on the store's network" if flag else ""
    raise ConfigurationError(
        f"The API would listen on {host}, beyond this machine, without TLS: set [api] tls_cert and tls_key "
        f"(a PEM certificate and its key){other}, or listen on 127.0.0.1 only."
    )


async def start_local_api(
    runtime: Runtime, host: str, port: int, transport: Transport, *, webhooks: bool = True
) -> RunningServer:
    """Serve `runtime.local_api()` on host:port as `transport` says; `OSError` when the port is taken."""
    if transport.plain_lan:
        log.warning(
            "The API listens on %s over plain HTTP (--insecure-lan): API tokens and receipts cross the network "
            "unencrypted; set [api] tls_cert and tls_key to encrypt them.",
            host,
        )
    return await start_asgi_server(
        runtime.local_api(webhooks=webhooks),
        host,
        port,
        name="api",
        ssl_certfile=transport.cert,
        ssl_keyfile=transport.key,
    )


def _tls_files(settings: ApiSettings) -> tuple[str | None, str | None]:
    """The certificate and key files, checked to be a PEM certificate and its private key."""
    cert, key = settings.tls_cert, settings.tls_key
    if not cert and not key:
        return None, None
    if not cert or not key:
        missing, given = ("tls_key", "tls_cert") if cert else ("tls_cert", "tls_key")
        raise ConfigurationError(
            f"[api] {given} is set but {missing} is not: set both (a PEM certificate and its private key) or neither."
        )
    cert, key = str(Path(cert).expanduser()), str(Path(key).expanduser())
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except ssl.SSLError as exc:
        raise ConfigurationError(
            f"[api] tls_cert {cert} and tls_key {key} are not a PEM certificate and its private key "
            f"({exc.reason or exc})."
        ) from None
    except OSError as exc:
        raise ConfigurationError(
            f"Cannot read the API's TLS certificate {cert} or key {key}: {exc.strerror or exc}."
        ) from None
    return cert, key
