"""`receiptdesk doctor`: is this installation ready to take sales and send receipts?

Each check is a name, a status and one plain sentence. `fail` is something that stops sales or
receipts (a missing secret, a refused key, a database that cannot be opened, a printer out of
paper, a port another program holds); `warn` is something to look at that does not stop them
(no keyring while the secrets come from the environment, a migration still to run, a provider
that cannot tell whether a key is good); `skip` is a check that does not apply, saying why.

The checks are functions of what the wiring (`app/main/doctor.py`) found in the settings, the
keyring and the registries; which secrets are needed is read from the plug-ins' declared
`secret_fields`, never from a list. Provider credentials are proved by each adapter's own harmless
call (`HttpAdapter.check_credentials`), and the first provider answer that carries a `Date` header
is the clock the local one is compared with.
"""

from __future__ import annotations

import asyncio
import errno
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

import httpx

from app.devices.escpos import PrinterStatus
from app.devices.printer import Printer
from app.domain.clock import Clock, utcnow
from app.domain.errors import ReceiptDeskError, TransientProviderError
from app.domain.plugins import SecretField
from app.providers.base import CredentialCheck, HttpAdapter
from app.providers.callback_registry import CALLBACKS
from app.providers.registry import ADAPTERS
from app.storage.revisions import Revisions, database_revisions
from app.support.listening import listening_socket
from app.triggers.catchup import POLLERS
from app.triggers.registry import TRIGGERS

SKEW_WARN_S = 60
"""Clock skew worth a warning: receipts and audit entries carry wrong times."""
SKEW_FAIL_S = 300
"""Clock skew that breaks things: AWS refuses SigV4 signatures and Stripe its webhooks beyond 5 minutes."""
PROBE_TIMEOUT_S = 2.0


class Status(StrEnum):
    OK = "ok"
    WARN = "warn"
    FAIL = "fail"
    SKIP = "skip"


@dataclass(frozen=True, slots=True)
class Check:
    """One check: what was checked, how it went, and one sentence saying what was found."""

    name: str
    status: Status
    message: str

    def as_json(self) -> dict[str, str]:
        return {"name": self.name, "status": self.status.value, "message": self.message}


@dataclass(frozen=True, slots=True)
class Report:
    """Every check, in the order they ran; `ok` when none failed."""

    checks: tuple[Check, ...]

    @property
    def ok(self) -> bool:
        return all(check.status is not Status.FAIL for check in self.checks)

    def lines(self) -> list[str]:
        """One line per check: status, name, sentence."""
        width = max((len(check.name) for check in self.checks), default=0)
        return [f"{check.status.value:<4}  {check.name:<{width}}  {check.message}" for check in self.checks]

    def as_json(self) -> list[dict[str, str]]:
        return [check.as_json() for check in self.checks]


# -- settings and keyring --------------------------------------------------------------------------


def settings_check(where: str, problem: str | None, *, exists: bool) -> Check:
    """The settings file loaded (`problem` None) or not."""
    if problem is not None:
        return Check("settings", Status.FAIL, problem)
    if not exists:
        return Check("settings", Status.WARN, f"There is no settings file at {where}: every default applies.")
    return Check("settings", Status.OK, f"The settings file {where} is valid.")


def store_check(problem: str | None) -> Check:
    """The store's identity, which every receipt prints, is set (`problem` None) or not."""
    if problem is not None:
        return Check("store", Status.FAIL, problem)
    return Check("store", Status.OK, "The store's name, address and phone are set.")


def keyring_check(backend: str, problem: str | None) -> Check:
    """The keyring can hold secrets, or why not (secrets may still come from the environment)."""
    if problem is not None:
        return Check(
            "keyring",
            Status.WARN,
            f"The keyring backend {backend} cannot be used ({problem}): secrets can only come from "
            "RECEIPTDESK_<OWNER>_<FIELD> environment variables; `receiptdesk secrets check` says how to fix it.",
        )
    return Check("keyring", Status.OK, f"The keyring backend {backend} can store secrets.")


# -- secrets ---------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NeededSecret:
    """A secret this installation reads, who reads it and for what, and how bad it is to be without."""

    owner: str
    name: str
    purpose: str
    missing: Status


def needed_secrets(
    *,
    providers: Iterable[str],
    platforms: Iterable[str] = (),
    callbacks: Iterable[str] = (),
    polled: Iterable[str] = (),
) -> list[NeededSecret]:
    """The required secrets of the routed providers (fail without), the platforms with a section
    (fail), the providers whose delivery callbacks are set up (warn) and the polled platforms (warn),
    from the registries' declared `secret_fields`. A secret needed twice is listed once, as its worst."""
    needs: dict[tuple[str, str], NeededSecret] = {}

    def add(owner: str, fields: Sequence[SecretField], purpose: str, missing: Status) -> None:
        for f in fields:
            held = needs.get((owner, f.name))
            if f.required and (held is None or (held.missing is Status.WARN and missing is Status.FAIL)):
                needs[(owner, f.name)] = NeededSecret(owner, f.name, purpose, missing)

    for owner in providers:
        if owner in ADAPTERS:
            adapter = ADAPTERS[owner]
            add(owner, adapter.secret_fields, f"{adapter.display_name} sends with it", Status.FAIL)
    for owner in platforms:
        if owner in TRIGGERS:
            trigger = TRIGGERS[owner]
            add(owner, trigger.secret_fields, f"{trigger.display_name} webhooks are verified with it", Status.FAIL)
    for owner in callbacks:
        if owner in CALLBACKS:
            cb = CALLBACKS[owner]
            add(owner, cb.secret_fields, f"{cb.display_name} delivery callbacks are verified with it", Status.WARN)
    for owner in polled:
        if owner in POLLERS:
            add(owner, POLLERS[owner].secret_fields, f"missed {owner} sales are caught up with it", Status.WARN)
    return list(needs.values())


def secret_checks(needed: Sequence[NeededSecret], found_in: Callable[[str, str], str | None]) -> list[Check]:
    """One check per needed secret; `found_in(owner, name)` says where it is set (None: nowhere)."""
    checks = []
    for need in needed:
        name = f"secret {need.owner} {need.name}"
        where = found_in(need.owner, need.name)
        if where is not None:
            checks.append(Check(name, Status.OK, f"{need.owner} {need.name} is set in {where}."))
        else:
            checks.append(
                Check(
                    name,
                    need.missing,
                    f"{need.owner} {need.name} is not set ({need.purpose}): store it with "
                    f"`receiptdesk secrets set {need.owner} {need.name}`.",
                )
            )
    return checks


# -- database --------------------------------------------------------------------------------------


async def database_check(url: str, where: str) -> Check:
    """Whether the database at `url` (shown as `where`) opens, and where it stands against the migrations."""
    try:
        found: Revisions = await asyncio.to_thread(database_revisions, url)
    except Exception as exc:  # any driver's refusal, an unknown scheme, a file that is not a database
        return Check("database", Status.FAIL, f"Cannot open the database ({where}): {_first_line(exc)}")
    if not found.exists:
        return Check(
            "database", Status.WARN, f"There is no database at {where} yet: the first start creates and migrates it."
        )
    if not found.known:
        return Check(
            "database",
            Status.FAIL,
            f"The database ({where}) is at revision {found.current}, which this version does not know: "
            "a newer ReceiptDesk has migrated it.",
        )
    if found.current != found.head:
        now = f"at revision {found.current}" if found.current else "empty"
        return Check(
            "database",
            Status.WARN,
            f"The database ({where}) is {now}, not at the newest revision {found.head}: the next start "
            "migrates it, or run `receiptdesk db upgrade`.",
        )
    return Check("database", Status.OK, f"The database ({where}) opens and is at the newest revision {found.head}.")


# -- providers and the clock -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ClockReading:
    """A provider's `Date` and this machine's time when its answer arrived."""

    provider: str
    server: datetime
    local: datetime


async def credential_checks(
    adapters: Mapping[str, HttpAdapter | ReceiptDeskError | str], *, clock: Clock = utcnow
) -> tuple[list[Check], list[ClockReading]]:
    """One check per configured provider: its credentials accepted, refused, not provable, or not built.

    Instead of an adapter, a text is why it was not asked (skipped: say, its secret is missing, which
    its own check reports) and an error why it could not be built (a failure). The providers are
    asked at the same time.
    """

    async def one(provider: str, adapter: HttpAdapter | ReceiptDeskError | str) -> tuple[Check, ClockReading | None]:
        name = f"credentials {provider}"
        if isinstance(adapter, str):
            return Check(name, Status.SKIP, f"Not checked: {adapter}"), None
        if isinstance(adapter, ReceiptDeskError):
            return Check(name, Status.FAIL, f"Not checked: {adapter.message}"), None
        try:
            answer = await adapter.check_credentials()
        except TransientProviderError as exc:
            return Check(name, Status.FAIL, f"{exc.message}.".replace("..", ".")), None
        if answer is None:
            return (
                Check(
                    name,
                    Status.SKIP,
                    f"{adapter.display_name} has no call that proves its credentials: not checkable without sending.",
                ),
                None,
            )
        reading = ClockReading(adapter.display_name, answer.server_date, clock()) if answer.server_date else None
        return Check(name, _verdict_status(answer), _with_call(answer)), reading

    results = await asyncio.gather(*(one(p, a) for p, a in adapters.items()))
    return [check for check, _ in results], [reading for _, reading in results if reading is not None]


def _verdict_status(answer: CredentialCheck) -> Status:
    return {True: Status.OK, False: Status.FAIL, None: Status.WARN}[answer.accepted]


def _with_call(answer: CredentialCheck) -> str:
    return f"{answer.call}: {answer.detail}"


def clock_check(readings: Sequence[ClockReading]) -> Check:
    """This machine's clock against the first provider's `Date` (whole seconds: that is the header's precision)."""
    if not readings:
        return Check("clock", Status.SKIP, "No provider answered with a Date header, so the clock was not compared.")
    first = readings[0]
    skew = round((first.local - first.server).total_seconds())
    if abs(skew) <= 1:  # the header truncates to the second and the answer took time to arrive
        return Check("clock", Status.OK, f"This clock agrees with {first.provider}'s to the second.")
    ahead = "ahead of" if skew > 0 else "behind"
    text = f"This clock is {abs(skew)} s {ahead} {first.provider}'s"
    if abs(skew) > SKEW_FAIL_S:
        return Check(
            "clock",
            Status.FAIL,
            f"{text}: signed requests and webhooks are refused beyond {SKEW_FAIL_S} s; set the time.",
        )
    if abs(skew) > SKEW_WARN_S:
        return Check("clock", Status.WARN, f"{text} (more than {SKEW_WARN_S} s): check the time service.")
    return Check("clock", Status.OK, f"{text} (within {SKEW_WARN_S} s).")


# -- the printer -----------------------------------------------------------------------------------


async def printer_check(device: Printer | ReceiptDeskError | None) -> Check:
    """The receipt printer's own report of its state (DLE EOT); None when printing is off."""
    if device is None:
        return Check("printer", Status.SKIP, "Printing is off ([printer] enabled = false).")
    if isinstance(device, ReceiptDeskError):
        return Check("printer", Status.FAIL, device.message)

    def ask(printer: Printer) -> PrinterStatus | None:
        with printer:
            return printer.status() if printer.check_status else None

    try:
        status = await asyncio.to_thread(ask, device)
    except ReceiptDeskError as exc:
        return Check("printer", Status.FAIL, exc.message)
    except OSError as exc:
        return Check("printer", Status.FAIL, f"The receipt printer ({device.name}) cannot be opened: {exc}")
    if status is None:
        return Check(
            "printer",
            Status.OK,
            f"The receipt printer's port ({device.name}) opens; it is set not to report its state.",
        )
    if status.problem:
        return Check("printer", Status.FAIL, status.problem)
    if status.paper_near_end:
        return Check(
            "printer", Status.WARN, f"The receipt printer ({device.name}) is ready, but its paper is running low."
        )
    return Check("printer", Status.OK, f"The receipt printer ({device.name}) is ready.")


# -- the local API's port --------------------------------------------------------------------------


async def port_check(host: str, port: int, *, tls: bool = False) -> Check:
    """Whether the local API can listen on host:port, or whether a ReceiptDesk already does (over
    HTTPS when `tls`: the API then speaks nothing else)."""
    where = f"{host}:{port}"
    if port == 0:
        return Check("api port", Status.SKIP, "[api] port = 0: each start picks a free port.")
    problem = _bind_problem(host, port)
    if problem is None:
        return Check("api port", Status.OK, f"The local API can listen on {where}.")
    if not problem[0]:
        return Check("api port", Status.FAIL, f"The local API cannot listen on {where}: {problem[1]}.")
    if await _receiptdesk_answers(host, port, tls=tls):
        return Check("api port", Status.OK, f"A running ReceiptDesk is listening on {where}.")
    return Check(
        "api port",
        Status.FAIL,
        f"Another program holds {where}: ReceiptDesk cannot listen there; stop it or set another [api] port.",
    )


def _bind_problem(host: str, port: int) -> tuple[bool, str] | None:
    """None when host:port can be listened on now, as the server listens; else (in use?, why)."""
    try:
        listening_socket(host, port).close()
    except OSError as exc:
        return exc.errno in _IN_USE, exc.strerror or str(exc)
    return None


_IN_USE = {errno.EADDRINUSE, 10048}  # 10048: Windows' WSAEADDRINUSE


async def _receiptdesk_answers(host: str, port: int, *, tls: bool) -> bool:
    """Whether what listens on host:port answers `/v1/health` as ReceiptDesk does."""
    target = {"0.0.0.0": "127.0.0.1", "::": "::1"}.get(host, host)  # noqa: S104 - a wildcard is reached on loopback
    scheme = "https" if tls else "http"
    url = f"{scheme}://[{target}]:{port}/v1/health" if ":" in target else f"{scheme}://{target}:{port}/v1/health"
    try:
        # The certificate names the hub, not a loopback address; the probe only asks who is listening.
        async with httpx.AsyncClient(timeout=PROBE_TIMEOUT_S, verify=not tls) as client:
            response = await client.get(url)
        body = response.json()
    except (httpx.HTTPError, ValueError):
        return False
    # Asked without an API token, ReceiptDesk's health says only whether it is ok.
    return isinstance(body, dict) and set(body) == {"ok"} and isinstance(body["ok"], bool)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    first = text[0] if text else ""
    return f"{type(exc).__name__}: {first}"[:300] if first else type(exc).__name__
