"""examples/webhook_verify.py agrees with the Standard Webhooks reference library both ways, and
refuses what a receiver must refuse: a changed body, another secret, an old timestamp, no headers.
The deliveries themselves (signed by the API) are tested end to end with the webhooks."""

from __future__ import annotations

import base64
import datetime as dt
import http.server
import json
import os
import sys
import threading
import time
from pathlib import Path

import pytest
import requests
from standardwebhooks import Webhook

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "examples"))

from webhook_verify import InvalidSignature, sign, verify  # noqa: E402

SECRET = "whsec_" + base64.b64encode(os.urandom(32)).decode()
BODY = json.dumps(
    {"type": "item.updated", "timestamp": "2026-11-25T12:00:00Z", "data": {"id": "i1", "version": 2}}
).encode()


def _headers(msg_id: str, timestamp: int, signature: str) -> dict[str, str]:
    return {"webhook-id": msg_id, "webhook-timestamp": str(timestamp), "webhook-signature": signature}


def test_the_reference_library_accepts_our_signature_and_we_accept_its() -> None:
    now = int(time.time())
    ours = _headers("msg_1", now, sign(SECRET, "msg_1", now, BODY))
    assert Webhook(SECRET).verify(BODY, ours) == json.loads(BODY)
    theirs = Webhook(SECRET).sign("msg_2", dt.datetime.fromtimestamp(now, dt.UTC), BODY.decode())
    assert verify(SECRET, _headers("msg_2", now, theirs), BODY) == json.loads(BODY)


def test_one_of_several_signatures_is_enough() -> None:
    """During a secret rotation a delivery may carry a signature per secret."""
    now = int(time.time())
    other = "whsec_" + base64.b64encode(b"x" * 32).decode()
    both = f"{sign(other, 'm', now, BODY)} {sign(SECRET, 'm', now, BODY)}"
    assert verify(SECRET, _headers("m", now, both), BODY)["type"] == "item.updated"


@pytest.mark.parametrize(
    ("case", "body", "secret", "age_s"),
    [
        ("changed body", BODY.replace(b"i1", b"i2"), SECRET, 0),
        ("another secret", BODY, "whsec_" + base64.b64encode(b"y" * 32).decode(), 0),
        ("too old", BODY, SECRET, 301),
        ("from the future", BODY, SECRET, -301),
    ],
)
def test_refused(case: str, body: bytes, secret: str, age_s: int) -> None:
    now = int(time.time())
    signed_at = now - age_s
    headers = _headers("m", signed_at, sign(secret, "m", signed_at, BODY))
    with pytest.raises(InvalidSignature):
        verify(SECRET, headers, body, now=now)


def test_missing_or_malformed_headers_are_refused() -> None:
    now = int(time.time())
    good = _headers("m", now, sign(SECRET, "m", now, BODY))
    for name in good:
        with pytest.raises(InvalidSignature):
            verify(SECRET, {k: v for k, v in good.items() if k != name}, BODY)
    with pytest.raises(InvalidSignature):
        verify(SECRET, {**good, "webhook-timestamp": "soon"}, BODY)
    with pytest.raises(InvalidSignature):
        verify(SECRET, {**good, "webhook-signature": "v2," + good["webhook-signature"][3:]}, BODY)


def test_a_receiver_verifies_the_raw_body_over_http() -> None:
    """A receiver as a partner writes it: verify the bytes as received, answer 2xx or 400."""
    received: list[dict] = []

    class Receiver(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers["Content-Length"]))
            try:
                received.append(verify(SECRET, dict(self.headers.items()), raw))
                self.send_response(204)
            except InvalidSignature:
                self.send_response(400)
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hook"
        now = int(time.time())
        headers = {**_headers("m", now, sign(SECRET, "m", now, BODY)), "Content-Type": "application/json"}
        assert requests.post(url, data=BODY, headers=headers, timeout=10).status_code == 204
        assert requests.post(url, data=BODY + b" ", headers=headers, timeout=10).status_code == 400
    finally:
        server.shutdown()
        server.server_close()
    assert received == [json.loads(BODY)]
