"""The sandbox's controlled points for crash tests: release a hold by handling or dropping the held
requests, keep answers back after the message was recorded, and count messages per delivery."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.sandbox.faults import FaultConfigError, Faults
from app.sandbox.server import RunningSandbox, start_sandbox
from tests.conftest import wait_until
from tests.sandbox.test_sandbox import faults_of, receipt_mail, send_mail, send_sms, store_of


@pytest.fixture
async def sandbox() -> AsyncIterator[RunningSandbox]:
    running = await start_sandbox()
    try:
        yield running
    finally:
        await running.stop()


@pytest.fixture
async def client(sandbox: RunningSandbox) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=10.0) as http:
        yield http


async def test_release_process_handles_and_records_the_held_requests(
    sandbox: RunningSandbox, client: httpx.AsyncClient
) -> None:
    await client.put("/_sandbox/faults", json={"hold": True})
    waiting = [asyncio.create_task(send_sms(client)), asyncio.create_task(send_mail(client, receipt_mail()))]
    await wait_until(lambda: faults_of(sandbox).held == 2, timeout=30)
    state = (await client.patch("/_sandbox/faults", json={"release": "process", "hold": False})).json()
    assert state["release"] == "process"
    assert [response.status_code for response in await asyncio.gather(*waiting)] == [201, 202]
    assert store_of(sandbox).total() == 2
    assert faults_of(sandbox).held == 0


async def test_release_drop_answers_503_and_records_nothing(sandbox: RunningSandbox, client: httpx.AsyncClient) -> None:
    await client.put("/_sandbox/faults", json={"hold": True})
    waiting = [asyncio.create_task(send_sms(client)), asyncio.create_task(send_mail(client, receipt_mail()))]
    await wait_until(lambda: faults_of(sandbox).held == 2, timeout=30)
    state = (await client.patch("/_sandbox/faults", json={"release": "drop", "hold": False})).json()
    assert state["release"] == "drop"
    assert [response.status_code for response in await asyncio.gather(*waiting)] == [503, 503]
    assert store_of(sandbox).total() == 0
    assert (await client.get("/_sandbox/faults")).json()["dropped"] == 2
    # Dropping holds nothing any more: the next request is handled.
    assert (await send_sms(client)).status_code == 201


async def test_put_and_delete_release_as_the_release_setting_says(
    sandbox: RunningSandbox, client: httpx.AsyncClient
) -> None:
    await client.put("/_sandbox/faults", json={"hold": True, "release": "drop"})
    waiting = asyncio.create_task(send_sms(client))
    await wait_until(lambda: faults_of(sandbox).held == 1, timeout=30)
    assert (await client.delete("/_sandbox/faults")).status_code == 204
    assert (await waiting).status_code == 503
    assert (await client.get("/_sandbox/faults")).json()["release"] == "process"  # cleared back

    await client.put("/_sandbox/faults", json={"hold": True})
    waiting = asyncio.create_task(send_sms(client))
    await wait_until(lambda: faults_of(sandbox).held == 1, timeout=30)
    await client.put("/_sandbox/faults", json={"release": "drop"})  # replaces: released, dropped
    assert (await waiting).status_code == 503
    assert store_of(sandbox).total() == 0


async def test_held_answers_come_after_the_message_was_recorded(
    sandbox: RunningSandbox, client: httpx.AsyncClient
) -> None:
    await client.put("/_sandbox/faults", json={"hold_answers": True})
    before = (await client.get("/_sandbox/faults")).json()["answered"]
    waiting = [asyncio.create_task(send_sms(client)), asyncio.create_task(send_mail(client, receipt_mail()))]
    await wait_until(lambda: faults_of(sandbox).answers_held == 2, timeout=30)
    assert store_of(sandbox).total() == 2  # the provider took both messages
    assert not any(task.done() for task in waiting)  # and neither client has heard so
    state = (await client.patch("/_sandbox/faults", json={"hold_answers": False})).json()
    assert state["hold_answers"] is False
    assert [response.status_code for response in await asyncio.gather(*waiting)] == [201, 202]
    assert (faults_of(sandbox).answered, faults_of(sandbox).answers_held) == (before + 2, 0)


async def test_held_answers_keep_to_the_listed_providers(sandbox: RunningSandbox, client: httpx.AsyncClient) -> None:
    await client.put("/_sandbox/faults", json={"hold_answers": True, "providers": ["sendgrid"]})
    mail = asyncio.create_task(send_mail(client, receipt_mail()))
    await wait_until(lambda: faults_of(sandbox).answers_held == 1, timeout=30)
    assert (await send_sms(client)).status_code == 201
    await client.delete("/_sandbox/faults")
    assert (await mail).status_code == 202


async def test_a_held_answer_whose_client_is_gone_is_dropped_quietly(
    sandbox: RunningSandbox, client: httpx.AsyncClient
) -> None:
    await client.put("/_sandbox/faults", json={"hold_answers": True})
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=10.0) as doomed:
        waiting = asyncio.create_task(send_sms(doomed))
        await wait_until(lambda: faults_of(sandbox).answers_held == 1, timeout=30)
        waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    answered = faults_of(sandbox).answered
    await client.delete("/_sandbox/faults")
    await wait_until(lambda: faults_of(sandbox).answered == answered + 1, timeout=30)
    assert store_of(sandbox).total() == 1
    assert (await send_sms(client)).status_code == 201


async def test_counts_per_delivery_reference(client: httpx.AsyncClient) -> None:
    for key in ("rd-a", "rd-a", "rd-b"):
        assert (await send_mail(client, receipt_mail(key))).status_code == 202
    for number in ("+15550000001", "+15550000001", "+15550000002"):
        assert (await send_sms(client, To=number)).status_code == 201
    assert (await send_sms(client, To="+15550000003", receiptdesk_key="rd-c")).status_code == 201

    counts = (await client.get("/_sandbox/messages/counts")).json()
    assert counts["total"] == 7
    assert counts["counts"] == {"rd-a": 2, "rd-b": 1, "+15550000001": 2, "+15550000002": 1, "rd-c": 1}
    by_to = (await client.get("/_sandbox/messages/counts", params={"provider": "twilio", "by": "to"})).json()
    assert by_to["counts"] == {"+15550000001": 2, "+15550000002": 1, "+15550000003": 1}
    assert (await client.get("/_sandbox/messages/counts", params={"by": "nope"})).status_code == 400
    assert (await client.get("/_sandbox/messages/counts", params={"provider": "nope"})).status_code == 400


def test_release_and_answer_hold_settings_are_validated() -> None:
    faults = Faults()
    bad_settings: list[dict[str, Any]] = [{"release": "lose"}, {"release": True}, {"hold_answers": 1}]
    for bad in bad_settings:
        with pytest.raises(FaultConfigError):
            faults.configure(**bad)
        with pytest.raises(FaultConfigError):
            faults.replace(bad)
    with pytest.raises(FaultConfigError):
        faults.release("lose")
    assert (faults.release_mode, faults.hold_answers) == ("process", False)


async def test_a_held_request_whose_client_is_gone_is_still_handled(
    sandbox: RunningSandbox, client: httpx.AsyncClient
) -> None:
    await client.put("/_sandbox/faults", json={"hold": True})
    async with httpx.AsyncClient(base_url=sandbox.url, timeout=10.0) as doomed:
        waiting = asyncio.create_task(send_sms(doomed, To="+15550000009"))
        await wait_until(lambda: faults_of(sandbox).held == 1, timeout=30)
        waiting.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiting
    await client.patch("/_sandbox/faults", json={"hold": False})
    await wait_until(lambda: store_of(sandbox).total() == 1, timeout=30)  # the provider got it all the same
    assert [record.to for record in store_of(sandbox)] == [("+15550000009",)]
