"""examples/items_client.py's retry policy, against a local server that answers 503 and 429 on cue
(the embedded stack cannot make DynamoDB refuse on demand; 429 against real plans: tests/e2e)."""

from __future__ import annotations

import http.server
import json
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

from items_client import ApiError, ItemsClient  # noqa: E402


class Script:
    """The statuses (and Retry-After values) the server answers, in order; then 200."""

    def __init__(self) -> None:
        self.answers: list[tuple[int, str | None]] = []
        self.seen_keys: list[str | None] = []


@pytest.fixture
def server() -> Iterator[tuple[str, Script]]:
    script = Script()

    class Handler(http.server.BaseHTTPRequestHandler):
        def _answer(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length") or 0))
            script.seen_keys.append(self.headers.get("Idempotency-Key"))
            status, retry_after = script.answers.pop(0) if script.answers else (200, None)
            body = json.dumps({"message": "busy"} if status >= 400 else {"id": "x", "version": 1}).encode()
            self.send_response(201 if status == 200 and self.command == "POST" else status)
            if retry_after is not None:
                self.send_header("Retry-After", retry_after)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_GET = do_POST = _answer

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", script
    httpd.shutdown()
    httpd.server_close()


def test_503_waits_at_least_retry_after_and_a_create_keeps_its_key(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(503, "2"), (429, None), (503, "1")]
    waits: list[float] = []
    client = ItemsClient(url, "k", sleep=waits.append, base_delay_s=0.1)
    assert client.create_item({"userId": "u", "name": "n"})["id"] == "x"
    assert len(waits) == 3 and client.retries == 3
    assert 2 <= waits[0] <= 2.1 and 0 <= waits[1] <= 0.2 and 1 <= waits[2] <= 1.1
    assert len(set(script.seen_keys)) == 1 and script.seen_keys[0]  # one Idempotency-Key for all tries


def test_gives_up_after_max_attempts_with_the_last_answer(server: tuple[str, Script]) -> None:
    url, script = server
    script.answers = [(429, None)] * 10
    client = ItemsClient(url, "k", sleep=lambda s: None, max_attempts=3)
    with pytest.raises(ApiError) as failed:
        client.usage()
    assert failed.value.status == 429 and client.retries == 2


def test_backoff_grows_and_is_capped() -> None:
    client = ItemsClient("http://127.0.0.1:9", "k", base_delay_s=1, max_delay_s=4)
    assert all(0 <= client.backoff_s(0, None) <= 1 for _ in range(50))
    assert all(0 <= client.backoff_s(10, None) <= 4 for _ in range(50))
    assert max(client.backoff_s(10, None) for _ in range(200)) > 2  # jitter spans the range
