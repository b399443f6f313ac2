"""Running `receiptdesk` commands as real processes for system tests."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from app.sandbox import credentials, ses

ROOT = Path(__file__).resolve().parents[2]

HTTP = httpx.Client()
"""The tests' requests to the processes they start (`HTTP.get(...)` as `httpx.get(...)`): one client, as
making one loads the CA bundle, a few hundredths of a second of CPU, too much for every poll of a wait."""


def env(**extra: str) -> dict[str, str]:
    """The environment of a headless deployment pointed at the sandbox's credentials."""
    return {
        **os.environ,
        "RECEIPTDESK_TWILIO_AUTH_TOKEN": credentials.TWILIO_AUTH_TOKEN,
        "RECEIPTDESK_SENDGRID_API_KEY": credentials.SENDGRID_API_KEY,
        "RECEIPTDESK_SES_ACCESS_KEY_ID": ses.SES_ACCESS_KEY_ID,
        "RECEIPTDESK_SES_SECRET_ACCESS_KEY": ses.SES_SECRET_ACCESS_KEY,
        "PYTHONUNBUFFERED": "1",
        **extra,
    }


def start(*args: str, marker: str = "http://", timeout: float = 30.0) -> tuple[subprocess.Popen[str], str]:
    """Start `python -m app ARGS`; return the process and the URL it printed when ready."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=ROOT,
        env=env(),
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if marker in line:
            url = next(word for word in line.split() if word.startswith("http://"))
            return proc, url
        if not line and proc.poll() is not None:
            raise AssertionError(f"process exited: {proc.stderr.read() if proc.stderr else ''}")
    proc.kill()
    raise AssertionError("process did not start in time")


def wait_for(what: str, condition: Callable[[], object], timeout: float = 60.0) -> None:
    """Poll `condition()` until it is truthy; fail saying `what` did not happen within `timeout` seconds.

    The timeout only bounds a failure: a passing run waits exactly as long as the condition takes.
    """
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.05)


def run(
    *args: str,
    data_dir: Path | None = None,
    config: Path | None = None,
    stdin: str | None = None,
    extra_env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    prefix = [*(("--config", str(config)) if config else ()), *(("--data-dir", str(data_dir)) if data_dir else ())]
    return subprocess.run(
        [sys.executable, "-m", "app", *prefix, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env(**(extra_env or {})),
        input=stdin,
        timeout=120,
    )


class Commands:
    """Command lines run one after another by one process (`tests/system/cli_steps.py`), each as
    `run` runs it in a process of its own: the same arguments, input, environment and answer."""

    def __init__(self, *, config: Path | None, data_dir: Path | None, extra_env: dict[str, str] | None) -> None:
        self.prefix = [*(("--config", str(config)) if config else ())]
        self.prefix += [*(("--data-dir", str(data_dir)) if data_dir else ())]
        self._errors = tempfile.TemporaryFile()  # noqa: SIM115  # closed by close()
        self._proc = subprocess.Popen(
            [sys.executable, "-m", "tests.system.cli_steps"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._errors,
            text=True,
            encoding="utf-8",
            cwd=ROOT,
            env=env(**(extra_env or {})),
        )

    def run(self, *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        assert self._proc.stdin is not None and self._proc.stdout is not None
        argv = [*self.prefix, *args]
        self._proc.stdin.write(json.dumps({"args": argv, "stdin": stdin}) + "\n")
        self._proc.stdin.flush()
        answer = self._proc.stdout.readline()
        if not answer:
            self._errors.seek(0)
            raise AssertionError(f"the commands' process ended: {self._errors.read().decode('utf-8', 'replace')}")
        done = json.loads(answer)
        return subprocess.CompletedProcess(["receiptdesk", *argv], done["returncode"], done["stdout"], done["stderr"])

    def close(self) -> None:
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            self._proc.wait(30)
        finally:
            if self._proc.poll() is None:
                self._proc.kill()
                self._proc.wait()
            self._errors.close()


@contextmanager
def commands(
    *, config: Path | None = None, data_dir: Path | None = None, extra_env: dict[str, str] | None = None
) -> Iterator[Commands]:
    """`commands.run(*args)` as `run(*args, config=config, data_dir=data_dir, extra_env=extra_env)`, the
    command lines run one after another by one process: a test that runs many short commands on one data
    folder starts the interpreter and imports ReceiptDesk once. A command that serves, or that a test
    stops, kills or watches start, is still a process of its own (`start`, `run`)."""
    session = Commands(config=config, data_dir=data_dir, extra_env=extra_env)
    try:
        yield session
    finally:
        session.close()


def post_sale_and_wait(api: str, headers: dict[str, str], sale: dict[str, Any], *, what: str) -> str:
    """POST `sale` to a served API; its receipt id, once the outbox is empty again (else fail saying `what`)."""
    receipt_id = str(HTTP.post(f"{api}/v1/sales", json=sale, headers=headers).json()["receipt_id"])
    wait_for(what, lambda: HTTP.get(f"{api}/v1/health", headers=headers).json()["queue_depth"] == 0)
    return receipt_id


def api_headers(
    *, config: Path | None, data_dir: Path | None, scope: str = "admin", cli: Commands | None = None
) -> dict[str, str]:
    """The header of a new API token, made by `receiptdesk tokens create` in the data folder (by `cli`, when given)."""
    name = f"tests-{uuid.uuid4().hex[:8]}"
    args = ("tokens", "create", name, "--scope", scope)
    created = cli.run(*args) if cli is not None else run(*args, config=config, data_dir=data_dir)
    assert created.returncode == 0, created.stderr
    return {"Authorization": f"Bearer {created.stdout.splitlines()[-1]}"}


def settings_file(path: Path, sandbox_url: str, *, lease_seconds: int = 5) -> Path:
    path.write_text(
        f"""
[store]
name = "Test Market"
address = "1 Test Street, Testville"
phone = "(555) 010-0000"

[api]
port = 0

[dispatch]
lease_seconds = {lease_seconds}
base_delay_seconds = 0.1
max_delay_seconds = 0.5
concurrency = 8

[routing]
email = "sendgrid"
sms = "twilio"

[providers.twilio]
account_sid = "{credentials.TWILIO_ACCOUNT_SID}"
from_number = "{credentials.TWILIO_FROM}"
base_url = "{sandbox_url}"

[providers.sendgrid]
from_email = "{credentials.SENDGRID_FROM}"
base_url = "{sandbox_url}"
""",
        encoding="utf-8",
    )
    return path


def start_logged(
    *args: str, log: Path, marker: str = "http://", timeout: float = 60.0
) -> tuple[subprocess.Popen[bytes], str]:
    """Start `python -m app ARGS` writing its output to `log` (nothing to drain, however much it says);
    return the process and the URL it printed when ready."""
    with log.open("ab") as out:
        start_at = out.tell()
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", *args], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=env()
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with log.open("rb") as written:
            written.seek(start_at)
            for line in written.read().decode("utf-8", "replace").splitlines():
                if marker in line:
                    return proc, next(word for word in line.split() if word.startswith("http://"))
        if proc.poll() is not None:
            raise AssertionError(f"process exited: {log.read_text('utf-8', 'replace')[-2000:]}")
        time.sleep(0.05)
    proc.kill()
    raise AssertionError("process did not start in time")


def dispatch_settings_file(
    path: Path,
    sandbox_url: str,
    *,
    email: str = "sendgrid",
    sms: str = "twilio",
    in_doubt: dict[str, str] | None = None,
    database_url: str | None = None,
    lease_seconds: int = 5,
    concurrency: int = 8,
) -> Path:
    """A settings file routing email and texts to the given sandbox providers (SendGrid or SES; Twilio),
    with `[dispatch] in_doubt` policies per channel and, optionally, a shared database."""
    policies = ", ".join(f'{channel} = "{policy}"' for channel, policy in (in_doubt or {}).items())
    database = f'[database]\nurl = "{database_url}"\n' if database_url else ""
    path.write_text(
        f"""{database}
[store]
name = "Test Market"
address = "1 Test Street, Testville"
phone = "(555) 010-0000"

[api]
port = 0

[dispatch]
lease_seconds = {lease_seconds}
base_delay_seconds = 0.1
max_delay_seconds = 0.5
concurrency = {concurrency}
in_doubt = {{ {policies} }}

[texts]
per_number_per_day = 1000
new_number_alarm_per_hour = 100000

[routing]
email = "{email}"
sms = "{sms}"

[providers.twilio]
account_sid = "{credentials.TWILIO_ACCOUNT_SID}"
from_number = "{credentials.TWILIO_FROM}"
base_url = "{sandbox_url}"

[providers.sendgrid]
from_email = "{credentials.SENDGRID_FROM}"
base_url = "{sandbox_url}"

[providers.ses]
region = "{ses.SES_REGION}"
from_email = "{ses.SES_FROM}"
base_url = "{sandbox_url}"
""",
        encoding="utf-8",
    )
    return path
