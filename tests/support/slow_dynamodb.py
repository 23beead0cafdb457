"""A DynamoDB endpoint on loopback that misbehaves on purpose: it hangs, or it throttles every call.

Handlers reach it through ``AWS_ENDPOINT_URL`` as they reach any endpoint, so the layer's real
botocore client, timeouts and retries are what is tested (not a stub that skips them).
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Literal

Mode = Literal["hang", "throttle"]


class Endpoint:
    """What the endpoint saw: one entry per HTTP request (the DynamoDB operation from X-Amz-Target)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.requests: list[str] = []


@contextmanager
def slow_dynamodb(mode: Mode) -> Iterator[Endpoint]:
    """Serve ``mode`` on 127.0.0.1 until the block ends (hung requests are released then)."""
    release = threading.Event()
    seen: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            self.rfile.read(length)
            seen.append(self.headers.get("X-Amz-Target", "").rsplit(".", 1)[-1])
            if mode == "hang":
                release.wait(60)
                return
            body = json.dumps(
                {"__type": "com.amazonaws.dynamodb.v20120810#ThrottlingException", "message": "Rate exceeded"}
            ).encode()
            self.send_response(400)
            self.send_header("Content-Type", "application/x-amz-json-1.0")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    endpoint = Endpoint(f"http://127.0.0.1:{server.server_address[1]}")
    endpoint.requests = seen
    try:
        yield endpoint
    finally:
        release.set()
        server.shutdown()
        server.server_close()
