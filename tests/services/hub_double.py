"""A hub's `POST /v1/hub/batches` as docs/hub.md states it, over real HTTP on loopback, for lanes' tests.

It applies each batch at once under one lock (its "transaction"), ignores seqs at or below a lane's
acknowledgement, parks the records it is told to refuse, answers 409 to a lane ahead of it, and can
be taken down (503), made to lose its answer after applying, or held before answering.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class HubDouble:
    def __init__(self, token: str) -> None:
        self.token = token
        self.lock = threading.Lock()
        self.acked: dict[str, int] = {}
        self.records: dict[tuple[str, str, str], dict[str, Any]] = {}  # (lane, kind, key) → data
        self.applied: list[tuple[str, int, str, str, str]] = []  # (lane, seq, kind, key, op), in order
        self.requests = 0
        self.down = False  # answer 503
        self.lose_answer = False  # apply, then answer 503 as if the answer was lost
        self.park: set[tuple[str, str]] = set()  # (kind, key) refused
        self.skew = timedelta(0)  # the hub's clock minus the real one
        self.hold: threading.Event | None = None  # when set up, wait on it before answering
        self.max_records: int | None = None  # a batch with more is answered 413
        self.backlogs: list[int] = []  # what each applied batch said still waits behind it
        self.received = threading.Event()  # a batch was applied
        self.url = ""
        self._server: ThreadingHTTPServer | None = None

    def batch(self, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        lane, after = body["lane_id"], int(body["after"])
        if self.max_records is not None and len(body["records"]) > self.max_records:
            return 413, {"error": "The batch is larger than the hub takes."}
        with self.lock:
            self.backlogs.append(int(body.get("backlog", -1)))
            acked = self.acked.get(lane, 0)
            if after > acked:
                return 409, {"acked": acked}
            parked = []
            for record in body["records"]:
                seq, kind, key = int(record["seq"]), record["kind"], record["key"]
                if seq <= acked:
                    continue
                if (kind, key) in self.park:
                    parked.append({"seq": seq, "reason": f"{kind} {key}: refused"})
                    continue
                self.applied.append((lane, seq, kind, key, record["op"]))
                if record["op"] == "delete":
                    self.records.pop((lane, kind, key), None)
                else:
                    self.records[(lane, kind, key)] = record["data"]
            if body["records"]:
                acked = max(acked, int(body["records"][-1]["seq"]))
            self.acked[lane] = acked
        hub_time = (datetime.now(UTC) + self.skew).isoformat(timespec="milliseconds")
        return 200, {"acked": acked, "parked": parked, "hub_time": hub_time}

    def keys(self, lane: str, kind: str) -> set[str]:
        with self.lock:
            return {k for (ln, kd, k) in self.records if ln == lane and kd == kind}

    @contextmanager
    def running(self) -> Iterator[HubDouble]:
        hub = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                hub.requests += 1
                raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.path != "/v1/hub/batches":
                    return self._answer(404, {"detail": "Not Found"})
                if self.headers.get("Authorization") != f"Bearer {hub.token}":
                    return self._answer(401, {"detail": "A valid API token is required."})
                if hub.down:
                    return self._answer(503, {"detail": "down"})
                status, answer = hub.batch(json.loads(raw))
                hub.received.set()
                if hub.hold is not None:
                    hub.hold.wait(10)
                if hub.lose_answer:
                    return self._answer(503, {"detail": "answer lost"})
                self._answer(status, answer)

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the lane went away meanwhile
                    pass

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        server.daemon_threads = True
        thread = threading.Thread(target=server.serve_forever, args=(0.02,), name="hub-double", daemon=True)
        thread.start()
        self.url = f"http://127.0.0.1:{server.server_address[1]}"
        try:
            yield self
        finally:
            if self.hold is not None:
                self.hold.set()
            server.shutdown()
            server.server_close()
