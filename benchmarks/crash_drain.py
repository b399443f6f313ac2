"""Kill `receiptdesk serve` again and again while it drains, and count what each customer received.

    python benchmarks/crash_drain.py [--sales 2000] [--kills 20] [--email sendgrid|ses] [--seed N]
    python benchmarks/crash_drain.py --postgres postgresql+psycopg://USER@HOST/DB --processes 2 --latency-ms 400

A sandbox process stands in for the providers. The sales are posted while the sandbox answers
every send 503 at once (an outage: the sends are retried, nothing is in doubt), so the whole drain
happens after intake; then the outage ends and the drain runs while a `serve` process is killed
with SIGKILL `--kills` times, each at a random point of the drain (when the sandbox has taken a
randomly drawn number of messages) and started again at once. With `--postgres` and
`--processes 2` two processes share the database and only the second is killed; the first takes
the sales and keeps draining while the victim starts again (`--latency-ms` makes the sandbox
answer more slowly, so that the drain outlasts the kills). At the end the drain runs to its end
and the script prints, per delivery (an email and a text per sale, each sale to its own address
and number):

- lost: deliveries neither sent nor held (failed, dead, or still queued);
- doubled at the customer: deliveries of which the sandbox recorded more than one message; of
  those, how many ReceiptDesk recorded as possible duplicates, and how many it did not;
- held: deliveries waiting for a manager (an attempt in doubt the provider cannot be asked about);
- the possible-duplicate rate, and how the attempts in doubt were settled.

The database it reads at the end is the one the processes wrote. Figures only: nothing is asserted.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

from app.sandbox import credentials, ses
from app.sandbox.pos import make_sale

ROOT = Path(__file__).resolve().parents[1]
SETTLED = frozenset({"sent", "delivered", "bounced"})


def environment() -> dict[str, str]:
    return {
        **os.environ,
        "RECEIPTDESK_TWILIO_AUTH_TOKEN": credentials.TWILIO_AUTH_TOKEN,
        "RECEIPTDESK_SENDGRID_API_KEY": credentials.SENDGRID_API_KEY,
        "RECEIPTDESK_SES_ACCESS_KEY_ID": ses.SES_ACCESS_KEY_ID,
        "RECEIPTDESK_SES_SECRET_ACCESS_KEY": ses.SES_SECRET_ACCESS_KEY,
        "PYTHONUNBUFFERED": "1",
    }


def start(*args: str, log: Path, timeout: float = 120.0) -> tuple[subprocess.Popen[bytes], str]:
    """`python -m app ARGS`, its output appended to `log`; the process and the URL it printed when ready."""
    with log.open("ab") as out:
        offset = out.tell()
        proc = subprocess.Popen(
            [sys.executable, "-m", "app", *args], stdout=out, stderr=subprocess.STDOUT, cwd=ROOT, env=environment()
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with log.open("rb") as written:
            written.seek(offset)
            for line in written.read().decode("utf-8", "replace").splitlines():
                if "http://" in line:
                    return proc, next(word for word in line.split() if word.startswith("http://"))
        if proc.poll() is not None:
            raise SystemExit(f"{' '.join(args)} exited:\n{log.read_text('utf-8', 'replace')[-3000:]}")
        time.sleep(0.05)
    proc.kill()
    raise SystemExit(f"{' '.join(args)} did not start in {timeout:.0f} s")


def write_settings(path: Path, sandbox_url: str, *, email: str, database_url: str | None, concurrency: int) -> None:
    database = f'[database]\nurl = "{database_url}"\n' if database_url else ""
    path.write_text(
        f"""{database}
[store]
name = "Bench Market"
address = "1 Bench Street, Testville"
phone = "(555) 010-0000"

[api]
port = 0
requests_per_minute = 100000

[dispatch]
lease_seconds = 5
base_delay_seconds = 0.1
max_delay_seconds = 1.0
concurrency = {concurrency}
max_attempts = 100

[texts]
per_number_per_day = 1000
new_number_alarm_per_hour = 100000

[routing]
email = "{email}"
sms = "twilio"

[providers.twilio]
account_sid = "{credentials.TWILIO_ACCOUNT_SID}"
from_number = "{credentials.TWILIO_FROM}"
base_url = "{sandbox_url}"
rate_per_sec = 0

[providers.sendgrid]
from_email = "{credentials.SENDGRID_FROM}"
base_url = "{sandbox_url}"
rate_per_sec = 0

[providers.ses]
region = "{ses.SES_REGION}"
from_email = "{ses.SES_FROM}"
base_url = "{sandbox_url}"
rate_per_sec = 0
""",
        encoding="utf-8",
    )


class Fleet:
    """The `serve` processes on one database, each with its own data folder and log."""

    def __init__(self, work: Path, config: Path, processes: int) -> None:
        self.work, self.config = work, config
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * processes
        self.apis: list[str] = [""] * processes

    def data(self, index: int) -> Path:
        return self.work / f"data-{index}"

    def start(self, index: int) -> None:
        args = ("--config", str(self.config), "--data-dir", str(self.data(index)), "serve")
        self.procs[index], self.apis[index] = start(*args, log=self.work / f"serve-{index}.log")

    def kill(self, index: int) -> None:
        proc = self.procs[index]
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait(30)

    def stop(self) -> None:
        for proc in self.procs:
            if proc is not None and proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait(30)


def token(fleet: Fleet) -> dict[str, str]:
    where = ("--config", str(fleet.config), "--data-dir", str(fleet.data(0)))
    made = subprocess.run(
        [sys.executable, "-m", "app", *where, "tokens", "create", "crash-drain", "--scope", "admin"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=environment(),
        timeout=120,
        check=True,
    )
    return {"Authorization": f"Bearer {made.stdout.splitlines()[-1]}"}


def wait_for(what: str, condition: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up: {what}")
        time.sleep(0.05)


def sandbox_count(http: httpx.Client, sandbox_url: str) -> int:
    return int(http.get(f"{sandbox_url}/_sandbox/messages?limit=1").json()["count"])


def queue_depth(http: httpx.Client, api: str, auth: dict[str, str]) -> int | None:
    with contextlib.suppress(httpx.HTTPError, KeyError, ValueError):
        return int(http.get(f"{api}/v1/health", headers=auth, timeout=30).json()["queue_depth"])
    return None


def post_sales(http: httpx.Client, api: str, auth: dict[str, str], sales: int, seed: int) -> dict[str, int]:
    """Post `sales` sales, sale i to c{i}@example.com and +1217555{i:04d}; receipt id -> i."""
    rng = random.Random(seed)
    receipts: dict[str, int] = {}
    for i in range(sales):
        sale = make_sale(rng, sale_id=f"CD{i:05d}", with_customer=False)
        sale["customer"] = {"email": f"c{i}@example.com", "phone": f"+1217555{i:04d}", "channels": ["email", "sms"]}
        response = http.post(f"{api}/v1/sales", json=sale, headers=auth, timeout=60)
        while response.status_code == 429:  # the token's budget: wait as told
            time.sleep(float(response.headers.get("Retry-After") or 1))
            response = http.post(f"{api}/v1/sales", json=sale, headers=auth, timeout=60)
        if response.status_code != 202:
            raise SystemExit(f"sale {i} refused: {response.status_code} {response.text}")
        receipts[response.json()["receipt_id"]] = i
    return receipts


def drain_with_kills(
    http: httpx.Client, fleet: Fleet, sandbox_url: str, *, victim: int, kills: int, total: int, rng: random.Random
) -> list[int]:
    """Kill `victim` `kills` times, each once the sandbox has taken a randomly drawn number of messages.

    The points are drawn from the first 95% of the messages, or the first 60% when another process
    goes on draining while the victim starts again.
    """
    span = 0.95 if len(fleet.procs) == 1 else 0.6
    targets = sorted(rng.randrange(1, max(2, int(total * span))) for _ in range(kills))
    at: list[int] = []
    for target in targets:

        def reached(target: int = target) -> bool:
            return sandbox_count(http, sandbox_url) >= target

        with contextlib.suppress(SystemExit):  # the drain stalls short of this point: kill anyway
            wait_for("", reached, timeout=120)
        time.sleep(rng.random() * 0.05)  # a random moment past the point, within the sends in flight
        at.append(sandbox_count(http, sandbox_url))
        fleet.kill(victim)
        fleet.start(victim)
    return at


def measure(database_url: str, receipts: dict[str, int], sandbox: dict[str, Counter[str]]) -> dict[str, Any]:
    engine = create_engine(database_url)
    with engine.connect() as conn:
        deliveries = conn.execute(text("SELECT id, receipt_id, channel, provider, state FROM deliveries")).all()
        attempts = conn.execute(
            text("SELECT delivery_id, number, outcome, settled_by, possible_duplicate FROM delivery_attempts")
        ).all()
    engine.dispose()
    by_delivery: dict[str, list[Any]] = {}
    for attempt in attempts:
        by_delivery.setdefault(attempt.delivery_id, []).append(attempt)
    states: Counter[str] = Counter()
    settled_by: Counter[str] = Counter()
    outcomes: Counter[str] = Counter()
    lost = nothing_received = doubled = doubled_marked = marked = held = 0
    copies: Counter[int] = Counter()
    for delivery in deliveries:
        if delivery.receipt_id not in receipts:
            continue  # not a sale of this run
        i = receipts[delivery.receipt_id]
        got = sandbox[delivery.channel][f"c{i}@example.com" if delivery.channel == "email" else f"+1217555{i:04d}"]
        mine = by_delivery.get(delivery.id, [])
        is_marked = any(bool(a.possible_duplicate) for a in mine)
        states[delivery.state] += 1
        settled_by.update(a.settled_by for a in mine if a.settled_by)
        outcomes.update(a.outcome for a in mine)
        copies[got] += 1
        marked += is_marked
        if delivery.state == "held":
            held += 1
        elif delivery.state not in SETTLED:
            lost += 1
        if got == 0 and delivery.state != "held":
            nothing_received += 1
        if got > 1:
            doubled += 1
            doubled_marked += is_marked
    count = sum(states.values())
    return {
        "deliveries": count,
        "states": dict(states),
        "lost": lost,
        "nothing_received": nothing_received,
        "doubled": doubled,
        "doubled_marked": doubled_marked,
        "doubled_unrecorded": doubled - doubled_marked,
        "held": held,
        "marked": marked,
        "copies": dict(sorted(copies.items())),
        "settled_by": dict(settled_by),
        "outcomes": dict(outcomes),
    }


def report(figures: dict[str, Any], *, kills_at: list[int], sends: int, seconds: float, label: str) -> None:
    count = figures["deliveries"] or 1
    print(f"\n{label}")
    print(f"  deliveries                       {figures['deliveries']}")
    print(f"  kills (messages taken by then)   {len(kills_at)}: {kills_at}")
    print(f"  kills mid-drain                  {sum(taken < figures['deliveries'] for taken in kills_at)}")
    print(f"  drain time with the kills        {seconds:.1f} s")
    print(f"  delivery states                  {figures['states']}")
    print(f"  lost (neither sent nor held)     {figures['lost']}")
    print(f"  received nothing (not held)      {figures['nothing_received']}")
    print(f"  doubled at the customer          {figures['doubled']} ({figures['doubled'] / count:.2%})")
    print(f"    recorded as possible duplicate {figures['doubled_marked']}")
    print(f"    unrecorded doubles             {figures['doubled_unrecorded']}")
    print(f"  held for a manager               {figures['held']}")
    print(f"  possible duplicates recorded     {figures['marked']} ({figures['marked'] / count:.2%} of deliveries)")
    print(f"  messages per delivery            {figures['copies']}")
    print(f"  attempts in doubt settled by     {figures['settled_by']}")
    print(f"  attempt outcomes                 {figures['outcomes']}")
    print(f"  messages the sandbox took        {sends}")


@contextlib.contextmanager
def workspace(keep: bool) -> Iterator[Path]:
    if keep:
        yield Path(tempfile.mkdtemp(prefix="crash-drain-"))
        return
    with tempfile.TemporaryDirectory(prefix="crash-drain-") as folder:
        yield Path(folder)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sales", type=int, default=2000)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--email", choices=("sendgrid", "ses"), default="sendgrid", help="ses cannot be asked")
    parser.add_argument("--postgres", metavar="URL", help="a PostgreSQL database (tables made or updated)")
    parser.add_argument("--processes", type=int, default=1, choices=(1, 2))
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--seed", type=int, default=20)
    parser.add_argument("--latency-ms", type=float, default=0.0, help="the sandbox's latency per send")
    parser.add_argument("--keep", action="store_true", help="keep the work folder (logs, database)")
    args = parser.parse_args()
    if args.processes == 2 and not args.postgres:
        parser.error("two processes share a PostgreSQL database: give --postgres URL")
    rng = random.Random(args.seed)
    with workspace(args.keep) as work, httpx.Client(timeout=30) as http:
        sandbox_proc, sandbox_url = start("sandbox", "--port", "0", log=work / "sandbox.log")
        config = work / "receiptdesk.toml"
        database_url = args.postgres or f"sqlite:///{work / 'data-0' / 'receiptdesk.db'}"
        write_settings(config, sandbox_url, email=args.email, database_url=args.postgres, concurrency=args.concurrency)
        fleet = Fleet(work, config, args.processes)
        try:
            http.put(f"{sandbox_url}/_sandbox/faults", json={"outage_seconds": 86_400}).raise_for_status()
            fleet.start(0)
            auth = token(fleet)
            receipts = post_sales(http, fleet.apis[0], auth, args.sales, args.seed)
            for index in range(1, args.processes):
                fleet.start(index)
            victim = args.processes - 1
            label = (
                f"{args.sales} sales, email by {args.email} and texts by twilio, "
                + (f"PostgreSQL, {args.processes} processes, one killed" if args.postgres else "SQLite, one process")
                + f", {args.kills} SIGKILLs during the drain"
                + (f", sandbox latency {args.latency_ms:g} ms" if args.latency_ms else "")
            )
            print(label, flush=True)
            started = time.monotonic()
            # the outage ends: the drain begins
            http.put(f"{sandbox_url}/_sandbox/faults", json={"latency_ms": args.latency_ms}).raise_for_status()
            kills_at = drain_with_kills(
                http, fleet, sandbox_url, victim=victim, kills=args.kills, total=2 * args.sales, rng=rng
            )
            wait_for(
                "the queue did not drain",
                lambda: queue_depth(http, fleet.apis[victim], auth) == 0,
                timeout=max(600.0, args.sales * 0.5),
            )
            seconds = time.monotonic() - started
            fleet.stop()
            sandbox: dict[str, Counter[str]] = {}
            for channel, provider in (("email", args.email), ("sms", "twilio")):
                params = {"provider": provider, "by": "to"}
                counts = http.get(f"{sandbox_url}/_sandbox/messages/counts", params=params).json()["counts"]
                sandbox[channel] = Counter(counts)
            figures = measure(database_url, receipts, sandbox)
            report(figures, kills_at=kills_at, sends=sandbox_count(http, sandbox_url), seconds=seconds, label=label)
            if args.keep:
                print(f"  work folder                      {work}")
        finally:
            fleet.stop()
            sandbox_proc.terminate()
            sandbox_proc.wait(30)


if __name__ == "__main__":
    main()
