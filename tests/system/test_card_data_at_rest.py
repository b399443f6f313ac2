"""A real `receiptdesk serve`, sent a card number every way it can be written and at every door it
has; afterwards no file of its data folder (the SQLite database, its WAL, the logs) and none of its
output holds the number in any of those writings."""

from __future__ import annotations

import random
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx

from app.sandbox.platforms import zapier as zapier_sandbox
from app.sandbox.pos import make_sale
from tests.system import processes

NOWHERE = "http://127.0.0.1:9"  # providers no test here reaches
PAN = "4111111111111111"
FULL_WIDTH = str.maketrans("0123456789", "０１２３４５６７８９")
WRITTEN = [
    PAN,
    "4111 1111 1111 1111",
    "4111-1111-1111-1111",
    "4111.1111.1111.1111",
    "4111/1111/1111/1111",
    "4111_1111_1111_1111",
    "4111:1111:1111:1111",
    "4111-1111.1111/1111",
    PAN.translate(FULL_WIDTH),
    PAN.translate(str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")),  # Arabic-Indic digits
    "4111\u200b1111\u200b1111\u200b1111",
]
"""How the number is sent; the data folder is searched for each, and for each in UTF-16 too."""
ZAPIER_SECRET = zapier_sandbox.SANDBOX_SHARED_SECRET


def settings(tmp_path: Path) -> Path:
    """The system tests' settings, with the Zapier trigger of the sandbox's store."""
    path = processes.settings_file(tmp_path / "rd.toml", NOWHERE)
    text = path.read_text(encoding="utf-8")
    text = text.replace("[store]\n", f'[store]\nid = "{zapier_sandbox.SANDBOX_STORE_ID}"\n', 1)
    path.write_text(text + "\n[platforms.zapier]\n", encoding="utf-8")
    return path


def serve(config: Path, data: Path) -> tuple[subprocess.Popen[str], str]:
    env = processes.env(RECEIPTDESK_ZAPIER_SHARED_SECRET=ZAPIER_SECRET)
    proc = subprocess.Popen(
        [sys.executable, "-m", "app", "--config", str(config), "--data-dir", str(data), "-vv", "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=processes.ROOT,
        env=env,
    )
    assert proc.stdout is not None
    for line in proc.stdout:
        if "serving on " in line:
            return proc, line.split("serving on ", 1)[1].split()[0]
    raise AssertionError(f"serve exited: {proc.stderr.read() if proc.stderr else ''}")


def refused_sales(rng: random.Random) -> Iterator[tuple[str, dict[str, Any], dict[str, bytes]]]:
    """(what, sale, headers): each holds one writing of the card number in one place."""
    for n, form in enumerate(WRITTEN):
        places: dict[str, Any] = {
            "sale_id": f"S-{form}",
            "order_id": f"O-{form}",
            "lane": f"{form}",
            "store_id": f"store-{form}",
            "cashier": f"Dana {form}",
        }
        for field, value in places.items():
            sale = make_sale(rng, sale_id=f"R-{n}-{field}", with_customer=True)
            sale[field] = value
            yield field, sale, {}
        sale = make_sale(rng, sale_id=f"R-{n}-names", with_customer=True)
        sale["items"][0]["name"] = f"Gift card {form}"
        yield "items.0.name", sale, {}
        sale = make_sale(rng, sale_id=f"R-{n}-customer", with_customer=True)
        sale["customer"] = {"name": f"Ana {form}", "email": "ana@example.com", "channels": ["email"]}
        yield "customer.name", sale, {}
        sale = make_sale(rng, sale_id=f"R-{n}-extra", with_customer=False)
        sale["note"] = form
        yield "note", sale, {}
        yield "Idempotency-Key", make_sale(rng, sale_id=f"R-{n}-key"), {"Idempotency-Key": f"till-{form}".encode()}
    sale = make_sale(rng, sale_id="R-number", with_customer=False)
    sale["items"][0]["name"] = int(PAN)
    yield "items.0.name", sale, {}


def named(response: httpx.Response) -> str:
    """The field a 422 names: the first problem's location in the sale, or the one an error names."""
    body = response.json()
    if "detail" in body:
        return ".".join(str(part) for part in body["detail"][0]["loc"][1:])
    return str(body["error"]).split(" ", 1)[0]


def files_holding_the_number(folder: Path) -> list[str]:
    needles = [form.encode(encoding) for form in WRITTEN for encoding in ("utf-8", "utf-16-le")]
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        content = path.read_bytes()
        found += [f"{path.name}: {needle!r}" for needle in needles if needle in content]
    return found


def test_no_writing_of_a_refused_card_number_reaches_the_data_folder(tmp_path: Path) -> None:
    config, data = settings(tmp_path), tmp_path / "data"
    created = processes.run("tokens", "create", "till-1", "--scope", "sales:write", config=config, data_dir=data)
    assert created.returncode == 0, created.stderr
    token = created.stdout.strip().splitlines()[-1]
    auth = {"Authorization": f"Bearer {token}"}
    server, url = serve(config, data)
    try:
        with httpx.Client(base_url=url, headers=auth, timeout=30) as client:
            rng = random.Random(11)
            accepted = client.post("/v1/sales", json=make_sale(rng, sale_id="OK-1", with_customer=True))
            assert accepted.status_code == 202, accepted.text  # the database has a sale, the log lines
            refusals = 0
            for field, sale, headers in refused_sales(rng):
                response = client.post("/v1/sales", json=sale, headers=headers)
                assert response.status_code == 422, (field, response.text)
                assert named(response) == field and "1111" not in response.text, response.text
                refusals += 1
            for form in WRITTEN:
                event = zapier_sandbox.sample_event(rng, event_id=f"zap-{form}", sale_id=f"Z-{refusals}")
                headers, body = zapier_sandbox.signed_webhook(event, secret=ZAPIER_SECRET)
                response = client.post("/webhooks/zapier", content=body, headers=headers)
                assert response.status_code == 422 and "event_id" in response.text, response.text
            assert refusals == len(WRITTEN) * 9 + 1
            while_running = files_holding_the_number(data)
            assert any(p.suffix == ".db" for p in data.rglob("*")), sorted(p.name for p in data.rglob("*"))
    finally:
        server.terminate()
        out, err = server.communicate(timeout=60)
    assert server.returncode == 0, err
    logs = [p for p in (data / "logs").rglob("*") if p.is_file()]
    assert logs and "sale received" in "".join(p.read_text(encoding="utf-8") for p in logs)  # -vv logs each sale
    assert while_running == []
    assert files_holding_the_number(data) == []
    for form in WRITTEN:
        assert form not in out and form not in err
