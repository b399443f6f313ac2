"""No answer of 500 or more to any input, and no dropped connection, at every route of the local API.

A corpus of nasty bodies (nesting 1,000 and 100,000 deep, huge numbers, NaN, invalid UTF-8, byte order
marks, duplicate keys, NUL and lone surrogates, 10 MB, empty, and wrong JSON types at every level of a
real payload) and hypothesis-made requests go over REAL HTTP, through ONE keep-alive connection per
served API (`httpx.Client` against the embedded uvicorn), to `POST /v1/sales`, `GET /v1/receipts/{id}`
with odd ids, `GET /v1/health`, every `/webhooks/{platform}` and every provider callback route; the
routes come from the registries. Every answer must be below 500, and every request must ride the same
TCP connection (the client's port never changes).

Two APIs are served. One checks signatures, as in the field, so garbage is refused at the door. The
other takes every sender's signature as verified (its trigger and callback objects answer `verify`
with nothing), so the same bodies reach each platform's and provider's parser.
"""

from __future__ import annotations

import asyncio
import json
import random
import threading
from collections import Counter
from collections.abc import Coroutine, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.config.settings import Settings
from app.demo.wiring import sandbox_secrets, sandbox_settings
from app.domain.inbound import InboundRequest
from app.main import Runtime, build_runtime
from app.main.edges import build_callbacks
from app.providers.callback_registry import CALLBACKS
from app.sandbox.platforms.registry import STAND_INS
from app.sandbox.pos import make_sale
from app.sandbox.server import start_sandbox
from app.services.callbacks import CallbackService
from app.support.asgi_server import RunningServer, start_asgi_server
from app.triggers.registry import TRIGGERS
from tests.conftest import new_database
from tests.fuzzing import examples

T = TypeVar("T")

TOKEN_SCOPES = ["sales:write", "receipts:read"]
MAX_BODY = 1024 * 1024

PLATFORM_ROUTES = [f"/webhooks/{platform}" for platform in TRIGGERS]
CALLBACK_ROUTES = [path for cls in CALLBACKS.values() for path in (cls.event_path(), *cls.paths)]
UNKNOWN_ROUTES = ["/webhooks/no-such-platform", "/webhooks/no-such-provider/events"]
POST_ROUTES = ["/v1/sales", *PLATFORM_ROUTES, *CALLBACK_ROUTES, *UNKNOWN_ROUTES]
ODD_IDS = [
    "nope",
    "0",
    "-1",
    "%00",
    "%ff%fe",
    "%ED%A0%80",  # a surrogate, UTF-8 encoded
    "..%2F..%2Fetc%2Fpasswd",
    "%2e%2e",
    "R-1'; DROP TABLE receipts; --",
    "😀",
    "%20",
    "null",
    "{}",
    "a" * 4000,
    "1e308",
]


def sale_sample() -> dict[str, Any]:
    return make_sale(random.Random(7), sale_id="FUZZ-1", when=datetime(2026, 11, 28, 10, 15, tzinfo=UTC))


def nested(depth: int, *, objects: bool = False) -> bytes:
    if objects:
        return b'{"a":' * depth + b"1" + b"}" * depth
    return b"[" * depth + b"]" * depth


def with_raw(sample: dict[str, Any], key: str, raw: str) -> bytes:
    """The sample with `key` set to a raw JSON text (a number literal json.dumps would not write)."""
    body = json.dumps({k: v for k, v in sample.items() if k != key})
    return (body[:-1] + f', "{key}": {raw}}}').encode()


def nasty_bodies() -> list[tuple[str, bytes]]:
    sale = sale_sample()
    good = json.dumps(sale)
    return [
        ("empty", b""),
        ("whitespace", b" \r\n\t "),
        ("null", b"null"),
        ("a number", b"1"),
        ("a string", b'"sale"'),
        ("an empty list", b"[]"),
        ("an empty object", b"{}"),
        ("truncated", good[: len(good) // 2].encode()),
        ("deep list 1,000", nested(1000)),
        ("deep object 1,000", nested(1000, objects=True)),
        ("deep list 100,000", nested(100_000)),
        ("deep list 100,000 unclosed", b"[" * 100_000),
        ("deep object 100,000", nested(100_000, objects=True)),
        ("total 1e308", with_raw(sale, "total", "1e308")),
        ("total '1e308'", with_raw(sale, "total", '"1e308"')),
        ("total 10**40", with_raw(sale, "total", str(10**40))),
        ("total 10**5000", with_raw(sale, "total", "1" + "0" * 5000)),
        ("total 1e999999999", with_raw(sale, "total", "1e999999999")),
        ("total 1e99999999999999999999999", with_raw(sale, "total", "1e99999999999999999999999")),
        ("total -0", with_raw(sale, "total", '"-0"')),
        ("total many decimals", with_raw(sale, "total", "1.000000000000000000000000000000001")),
        ("total NaN", with_raw(sale, "total", "NaN")),
        ("total 'NaN'", with_raw(sale, "total", '"NaN"')),
        ("total 'sNaN'", with_raw(sale, "total", '"sNaN"')),
        ("total Infinity", with_raw(sale, "total", "Infinity")),
        ("total -Infinity", with_raw(sale, "total", "-Infinity")),
        ("total 'Infinity'", with_raw(sale, "total", '"Infinity"')),
        ("invalid UTF-8", b'{"sale_id": "\xff\xfe\xfd"}'),
        ("overlong UTF-8", b'{"sale_id": "\xc0\xaf"}'),
        ("a surrogate as UTF-8 bytes", b'{"sale_id": "\xed\xa0\x80"}'),
        ("UTF-8 BOM", b"\xef\xbb\xbf" + good.encode()),
        ("UTF-16 with BOM", good.encode("utf-16")),
        ("UTF-16 BE with BOM", b"\xfe\xff" + good.encode("utf-16-be")),
        ("UTF-16 without BOM", good.encode("utf-16-le")),
        ("UTF-32 with BOM", good.encode("utf-32")),
        ("duplicate keys", (good[:-1] + ', "total": "0.01"}').encode()),
        ("duplicate nested keys", b'{"items": [{"name": "a", "name": "b"}]}'),
        ("NUL escape", with_raw(sale, "sale_id", '"a\\u0000b"')),
        ("raw NUL byte", with_raw(sale, "sale_id", '"a\x00b"')),
        ("lone high surrogate", with_raw(sale, "sale_id", '"\\ud800"')),
        ("lone low surrogate", with_raw(sale, "sale_id", '"\\udfff"')),
        ("surrogate key", b'{"\\ud800": 1}'),
        ("a valid pair of surrogates", with_raw(sale, "sale_id", '"\\ud83d\\ude00"')),
        ("form encoded", b"MessageSid=SM1&MessageStatus=delivered&mandrill_events=%5B%5B%5B"),
        ("form with NUL", b"MessageSid=SM%00&MessageStatus=%ff&mandrill_events=%00"),
        ("many keys", json.dumps({f"k{i}": i for i in range(5000)}).encode()),
        ("many values", b"[" + b",".join([b"0"] * 200_000) + b"]"),
        ("long string", json.dumps({"sale_id": "x" * 500_000}).encode()),
        ("just under the limit", b" " * (MAX_BODY - 2) + b"{}"),
    ]


WRONG_TYPES: list[Any] = [None, True, 0, -1, 10**40, 1.5e308, "", "x" * 300, [], {}, [None], {"": None}]


def paths(value: Any, prefix: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    """Every path to a value inside `value`, containers first."""
    children: list[tuple[Any, Any]] = []
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    for key, child in children:
        yield (*prefix, key)
        yield from paths(child, (*prefix, key))


def replaced(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    copy: Any = dict(value) if isinstance(value, dict) else list(value)
    copy[path[0]] = replaced(copy[path[0]], path[1:], new)
    return copy


def wrong_types(sample: Any) -> Iterator[tuple[str, bytes]]:
    """The sample with each value in turn replaced by a value of another JSON type (cycling through them),
    and the whole sample wrapped in a list and replaced by a scalar."""
    yield "sample as a list", json.dumps([sample]).encode()
    for i, path in enumerate(paths(sample)):
        new = WRONG_TYPES[i % len(WRONG_TYPES)]
        yield f"{'.'.join(map(str, path))} = {json.dumps(new)[:20]}", json.dumps(replaced(sample, path, new)).encode()


class Served:
    """A runtime and its local API (with the sandbox behind it) on an event loop of their own thread."""

    def __init__(self, data: Path, *, trusting: bool) -> None:
        self.trusting = trusting
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="fuzz-api", daemon=True)
        self._thread.start()
        self.sandbox, self.runtime, self.server, self.token = self.run(self._start(data))

    def run(self, work: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout)

    async def _start(self, data: Path) -> tuple[RunningServer, Runtime, RunningServer, str]:
        sandbox = await start_sandbox()
        settings = sandbox_settings(Settings(), sandbox.url)
        api = settings.api.model_copy(  # so the budgets never stand between a body and its parser
            update={"requests_per_minute": 100_000, "webhook_requests_per_minute": 100_000, "max_body_bytes": MAX_BODY}
        )
        settings = settings.model_copy(update={"api": api})
        secrets = sandbox_secrets(sandbox.url)
        new_database(data)
        runtime = build_runtime(settings, data=data, secrets=secrets)
        if self.trusting:
            self._take_signatures_as_verified(runtime, settings, secrets)
        runtime.start_dispatching()  # the health is ok only while deliveries move
        server = await start_asgi_server(runtime.local_api(), name="fuzz-api")
        server.server.config.timeout_keep_alive = 600  # an idle pause in the test must not close the connection
        issued = await runtime.tokens.create("fuzz", TOKEN_SCOPES, actor="tests")
        return sandbox, runtime, server, issued.token

    @staticmethod
    def _take_signatures_as_verified(runtime: Runtime, settings: Settings, secrets: dict[str, dict[str, str]]) -> None:
        def verified(_request: InboundRequest) -> None:
            return None

        for trigger in runtime.intake.triggers.values():
            trigger.verify = verified  # type: ignore[method-assign]
        callbacks = build_callbacks(settings, secrets)
        for each in callbacks.values():
            each.verify = verified  # type: ignore[method-assign]
        runtime.callbacks = CallbackService(runtime.tracking, callbacks)

    def close(self) -> None:
        self.run(self.server.stop())
        self.run(self.runtime.close())
        self.run(self.sandbox.stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


class Wire:
    """One keep-alive connection to one served API; every answer is checked as it arrives."""

    def __init__(self, served: Served) -> None:
        self.served = served
        self.client = httpx.Client(
            base_url=served.server.url,
            headers={"Authorization": f"Bearer {served.token}"},
            # kept as long as the server keeps it: a pause on a busy machine must not close it here either
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1, keepalive_expiry=600),
            timeout=60,
        )
        self.port: int | None = None
        self.statuses: Counter[int] = Counter()

    def send(self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None) -> httpx.Response:
        response = self.client.request(method, path, content=body, headers=headers)
        what = (method, path[:80], body[:60], response.status_code, response.text[:300])
        assert response.status_code < 500, what
        assert response.headers.get("connection", "").lower() != "close", what
        client_port: int = response.extensions["network_stream"].get_extra_info("client_addr")[1]
        self.port = self.port or client_port
        assert client_port == self.port, ("the connection was dropped", *what)
        self.statuses[response.status_code] += 1
        return response

    def post(self, path: str, body: bytes, headers: dict[str, str] | None = None) -> httpx.Response:
        return self.send("POST", path, body, {"content-type": "application/json", **(headers or {})})


@pytest.fixture(scope="module", params=["signatures checked", "signatures taken as verified"])
def wire(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Wire]:
    """The one way these tests reach an API: its token in the header, one connection."""
    served = Served(tmp_path_factory.mktemp("fuzz"), trusting=request.param != "signatures checked")
    connection = Wire(served)
    yield connection
    connection.client.close()
    served.close()


@pytest.mark.parametrize("route", POST_ROUTES)
def test_nasty_bodies_get_a_4xx_on_one_connection(wire: Wire, route: str) -> None:
    bodies = nasty_bodies()
    for _name, body in bodies:
        wire.post(route, body)
    assert sum(wire.statuses.values()) >= len(bodies)


def test_wrong_types_at_every_level_of_a_sale(wire: Wire) -> None:
    variants = list(wrong_types(sale_sample()))
    answers = Counter(wire.post("/v1/sales", body).status_code for _name, body in variants)
    assert len(variants) > 100 and set(answers) <= {202, 409, 422}, answers


@pytest.mark.parametrize("platform", sorted(STAND_INS))
def test_wrong_types_at_every_level_of_a_platform_event(wire: Wire, platform: str) -> None:
    """The stand-in's own delivery (its headers: topic, event type, signature) with every value in turn
    of the wrong type. A signature over the body no longer holds; a shared secret in a header (Clover,
    Zapier) still does, so those reach the parser on both APIs."""
    path = f"/webhooks/{platform}"
    prepared = STAND_INS[platform].prepare(wire.served.server.url + path, STAND_INS[platform].default_topic, 3)
    variants = list(wrong_types(json.loads(prepared.body)))
    answers = Counter(wire.post(path, body, prepared.headers).status_code for _name, body in variants)
    assert len(variants) > 1 and all(400 <= status < 500 or status in (200, 202) for status in answers), answers


def test_a_10_mb_body_is_413_and_the_connection_carries_on(wire: Wire) -> None:
    assert wire.post("/v1/sales", b"[" * (10 * 1024 * 1024)).status_code == 413
    assert wire.send("GET", "/v1/health").status_code == 200


@pytest.mark.parametrize("receipt_id", ODD_IDS)
def test_odd_receipt_ids_are_a_4xx(wire: Wire, receipt_id: str) -> None:
    assert wire.send("GET", f"/v1/receipts/{receipt_id}").status_code in (404, 422)


def test_the_health_answers_on_the_same_connection(wire: Wire) -> None:
    assert all(wire.send("GET", "/v1/health").json()["ok"] for _ in range(3))


JSON_KEYS = st.sampled_from(
    [
        "sale_id", "total", "items", "tenders", "amount", "event", "event-data", "signature", "timestamp",
        "message", "headers", "msg", "metadata", "Metadata", "ts", "_id", "RecordType", "MessageID", "id",
        "type", "data", "object", "merchants", "details", "checks", "order", "guid", "eventType",
    ]
) | st.text(max_size=8)  # fmt: skip
JSON_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(10**50), max_value=10**50)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(JSON_KEYS, inner, max_size=5),
    max_leaves=20,
)
NUMBER_TEXTS = st.sampled_from(["1e308", "-0", "NaN", "Infinity", "1e-400", "9" * 80, "0.1e99999999"])
BODIES = st.one_of(
    st.binary(max_size=300),
    JSON_VALUES.map(lambda v: json.dumps(v).encode()),
    NUMBER_TEXTS.map(lambda raw: f'{{"total": {raw}, "amount": "{raw}", "ts": {raw}, "total": {raw}}}'.encode()),
    NUMBER_TEXTS.map(lambda raw: f'{{"total": {raw}, "amount": "{raw}", "ts": {raw}}}'.encode()),
    st.builds(nested, st.integers(0, 3000), objects=st.booleans()),
    st.builds(lambda v: ("\ufeff" + json.dumps(v)).encode("utf-8"), JSON_VALUES),
)  # fmt: skip
HEADER_VALUES = st.text(alphabet=st.characters(min_codepoint=33, max_codepoint=126), max_size=60)
HEADERS = st.dictionaries(
    st.sampled_from(
        [
            "Content-Type", "X-Shopify-Topic", "X-Shopify-Hmac-Sha256", "X-Shopify-Triggered-At", "Stripe-Signature",
            "x-square-hmacsha256-signature", "X-Clover-Auth", "Toast-Signature", "X-ReceiptDesk-Secret",
            "X-HubSpot-Signature-v3", "X-HubSpot-Request-Timestamp", "X-Twilio-Signature",
            "X-Twilio-Email-Event-Webhook-Signature", "X-Twilio-Email-Event-Webhook-Timestamp",
            "X-Mandrill-Signature", "Idempotency-Key",
        ]
    ),
    HEADER_VALUES,
    max_size=4,
)  # fmt: skip


@settings(max_examples=examples(150), deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(route=st.sampled_from(POST_ROUTES), body=BODIES, headers=HEADERS)
def test_random_requests_never_5xx_on_one_connection(
    wire: Wire, route: str, body: bytes, headers: dict[str, str]
) -> None:
    wire.send("POST", route, body, headers)
