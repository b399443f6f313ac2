"""Every provider has exactly one sandbox stand-in, found by discovery, that opens its adapter and serves it.

The sandbox may not import `app.providers`; this test may, and holds the two registries together:
each adapter of `ADAPTERS` is built from its stand-in's account and sends one message through the
sandbox app. A new stand-in module is served, gets an account and may be named by faults with no
edit anywhere else.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

import app.sandbox
from app.domain.channels import Channel
from app.domain.message import OutboundMessage, SendStatus
from app.providers.registry import ADAPTERS
from app.sandbox.accounts import SandboxAccount, accounts
from app.sandbox.app import create_sandbox_app
from app.sandbox.faults import FaultConfigError, Faults
from app.sandbox.stand_ins import MACHINERY, provider_ids, stand_ins
from app.sandbox.store import MessageStore

SANDBOX_URL = "http://sandbox.test"
STORE_NAME = "Demo Market"
EMAIL = "ana.garcia@example.com"
PHONE = "+15558675310"
DEVICE = "fGw0qy4TGgk:APA91bGkq1hnK1uvD7jzL6x0pQ3Vv0Wm8xR2cT5nY9bA4eS7dF1gH3jK6lM0oP2q"
META = {"receipt_id": "R-1", "sale_id": "S-1001", "store": STORE_NAME, "total": "$42.17"}

MESSAGES: dict[Channel, OutboundMessage] = {
    Channel.EMAIL: OutboundMessage(
        Channel.EMAIL,
        EMAIL,
        idempotency_key="k-email",
        subject="Your receipt",
        text="Total $42.17",
        html="<p>Total $42.17</p>",
        metadata=META,
    ),
    Channel.SMS: OutboundMessage(Channel.SMS, PHONE, idempotency_key="k-sms", sms_body="Receipt: $42.17"),
    Channel.WHATSAPP: OutboundMessage(Channel.WHATSAPP, PHONE, idempotency_key="k-wa", metadata=META),
    Channel.PUSH: OutboundMessage(
        Channel.PUSH, DEVICE, idempotency_key="k-push", push_payload={"title": STORE_NAME, "body": "Total $42.17"}
    ),
    Channel.CHAT: OutboundMessage(Channel.CHAT, EMAIL, idempotency_key="k-chat", text="Total $42.17", metadata=META),
    Channel.CRM: OutboundMessage(
        Channel.CRM,
        EMAIL,
        idempotency_key="k-crm",
        subject="Your receipt",
        text="Total $42.17",
        html="<p>Total $42.17</p>",
        metadata=META,
    ),
}


def _declaring(provider_id: str) -> list[str]:
    """The modules of `app.sandbox` that declare themselves the stand-in of `provider_id`."""
    names = [info.name for info in pkgutil.iter_modules(app.sandbox.__path__) if not info.ispkg]
    modules = [importlib.import_module(f"app.sandbox.{name}") for name in names]
    return [m.__name__ for m in modules if getattr(m, "PROVIDER_ID", None) == provider_id]


@pytest.mark.parametrize("provider_id", sorted(ADAPTERS))
def test_every_adapter_has_exactly_one_stand_in_with_an_account(provider_id: str) -> None:
    assert len(_declaring(provider_id)) == 1, _declaring(provider_id)
    account = stand_ins()[provider_id].account(SANDBOX_URL, STORE_NAME)
    assert isinstance(account, SandboxAccount)
    assert account == accounts(SANDBOX_URL, store_name=STORE_NAME)[provider_id]
    # Every value names a field the adapter declares: the generic `create` would drop any other.
    cls = ADAPTERS[provider_id]
    assert set(account.settings) - {"rate_per_sec"} <= {f.name for f in cls.setting_fields}
    assert set(account.secrets) <= {f.name for f in cls.secret_fields}


def test_the_sandbox_stands_in_for_the_registered_providers_and_no_others() -> None:
    assert provider_ids() == set(ADAPTERS)
    assert set(accounts(SANDBOX_URL)) == set(ADAPTERS)


@pytest.fixture
async def sandbox() -> AsyncIterator[tuple[Starlette, httpx.AsyncClient]]:
    served = create_sandbox_app()
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(served), base_url=SANDBOX_URL) as http:
            yield served, http
    finally:
        await served.state.callbacks.close()


@pytest.mark.parametrize("provider_id", sorted(ADAPTERS))
async def test_the_sandbox_serves_each_provider_through_its_account(
    provider_id: str, sandbox: tuple[Starlette, httpx.AsyncClient]
) -> None:
    served, http = sandbox
    cls = ADAPTERS[provider_id]
    account = accounts(SANDBOX_URL, store_name=STORE_NAME)[provider_id]
    settings = {k: v for k, v in account.settings.items() if k != "rate_per_sec"}  # the wiring pops it
    adapter = cls.create(http, settings, account.secrets)

    result = await adapter.send(MESSAGES[cls.capabilities.channel])

    assert result.status is SendStatus.ACCEPTED, result
    store: MessageStore = served.state.store
    assert store.total() == 1


# --- a new stand-in is one new module ------------------------------------------------------------

NEW_STAND_IN = '''
"""A made-up e-mail provider's stand-in, as a new provider would add it."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from app.sandbox.callbacks import CallbackSender
from app.sandbox.faults import Faults
from app.sandbox.stand_ins import SandboxAccount, api_account
from app.sandbox.store import MessageRecord, MessageStore

PROVIDER_ID = "newmail"


def routes(store: MessageStore, faults: Faults, *, callbacks: CallbackSender | None = None) -> list[Route]:
    async def send(request: Request) -> Response:
        fault = await faults.inject(PROVIDER_ID)
        if fault is not None:
            return JSONResponse({"error": fault.phrase}, status_code=fault.status)
        payload = await request.json()
        store.add(MessageRecord(provider=PROVIDER_ID, id="nm-1", to=(payload["to"],), from_=None))
        return JSONResponse({"id": "nm-1"}, status_code=202)

    return [Route("/newmail/v1/send", send, methods=["POST"])]


def account(sandbox_url: str, store_name: str) -> SandboxAccount:
    return api_account(sandbox_url, {"from_email": "receipts@demo-market.example"}, {"api_key": "newmail-key"})
'''


@pytest.fixture
def new_stand_in(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """`newmail.py` dropped into the sandbox package's search path, and nothing else changed."""
    (tmp_path / "newmail.py").write_text(textwrap.dedent(NEW_STAND_IN))
    monkeypatch.setattr(app.sandbox, "__path__", [*app.sandbox.__path__, str(tmp_path)])
    stand_ins.cache_clear()
    try:
        yield
    finally:
        stand_ins.cache_clear()
        sys.modules.pop("app.sandbox.newmail", None)


@pytest.mark.usefixtures("new_stand_in")
async def test_a_new_stand_in_module_is_served_with_its_account_and_faults() -> None:
    assert accounts(SANDBOX_URL)["newmail"].secrets == {"api_key": "newmail-key"}
    faults = Faults()
    faults.configure(providers=["newmail"])
    served = create_sandbox_app(faults=faults)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(served), base_url=SANDBOX_URL) as http:
            answer = await http.post("/newmail/v1/send", json={"to": EMAIL})
            listed = await http.get("/_sandbox/messages", params={"provider": "newmail"})
            faults.configure(error_rate=1.0, error_status=503)
            failed = await http.post("/newmail/v1/send", json={"to": EMAIL})
    finally:
        await served.state.callbacks.close()
    assert answer.status_code == 202
    assert listed.json()["count"] == 1
    assert failed.status_code == 503


def test_faults_name_only_served_providers() -> None:
    with pytest.raises(FaultConfigError, match="providers must be among"):
        Faults().configure(providers=["newmail"])


def test_the_sandboxs_own_modules_name_no_provider_and_finding_the_stand_ins_loads_no_web_server() -> None:
    for name in MACHINERY:
        module = importlib.import_module(f"app.sandbox.{name}")
        assert not hasattr(module, "PROVIDER_ID"), name
    probe = (
        "import json, sys\n"
        "from app.sandbox.stand_ins import stand_ins\n"
        "stand_ins()\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    modules = set(json.loads(done.stdout.strip().splitlines()[-1]))
    assert not {"uvicorn", "starlette.applications", "app.sandbox.app", "app.sandbox.server"} & modules
