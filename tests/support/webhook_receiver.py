"""A webhook endpoint on 127.0.0.1 for the tests and the benchmark: keeps every delivery it got.

``statuses`` are answered in turn (then 200), so a test can make the first attempts fail.
"""

from __future__ import annotations

import http.server
import json
import threading
import time
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Delivery:
    """One POST as the receiver saw it."""

    headers: dict[str, str]
    body: bytes
    status: int
    at: float  # time.monotonic() on arrival

    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


class Receiver:
    """A threaded HTTP server answering POSTs; ``received`` lists every attempt, failed ones too."""

    def __init__(self, statuses: list[int] | None = None) -> None:
        self.statuses = list(statuses or [])
        self.received: list[Delivery] = []
        self._lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                with outer._lock:
                    status = outer.statuses.pop(0) if outer.statuses else 200
                    headers = {k.lower(): v for k, v in self.headers.items()}
                    outer.received.append(Delivery(headers, body, status, time.monotonic()))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, name="webhook-receiver", daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"

    def delivered(self) -> list[Delivery]:
        """The attempts answered with 2xx, in arrival order."""
        with self._lock:
            return [d for d in self.received if 200 <= d.status < 300]

    def wait_for(self, predicate: Any, timeout_s: float) -> list[Delivery]:
        """Poll until ``predicate(delivered)`` holds; returns the deliveries (asserting on timeout)."""
        deadline = time.monotonic() + timeout_s
        while True:
            got = self.delivered()
            if predicate(got):
                return got
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout_s} s; received {[d.event() for d in got]}")
            time.sleep(0.05)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
