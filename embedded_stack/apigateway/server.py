"""The embedded API Gateway: an HTTP/1.1 server on 127.0.0.1 serving one deployed REST API stage.

    gateway = Gateway(apigw_client, runner, "127.0.0.1", 8080)
    gateway.start()          # reads the control plane, then serves
    gateway.url              # http://127.0.0.1:8080/<stage>, as AWS's .../{stage}
    gateway.stop()

The configuration is read from the control plane on start and re-read in the background when its
fingerprint (stage deployment, keys, plans, plan keys) changes: never per request. Usage-plan
counters and the Lambda authorizer cache live across reloads; ``usage`` answers GetUsage from them.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from embedded_stack.apigateway import controlplane
from embedded_stack.apigateway import responses as r
from embedded_stack.apigateway.accesslog import AccessLog
from embedded_stack.apigateway.authorizer import LambdaAuthorizers
from embedded_stack.apigateway.limits import BucketRegistry, QuotaCounter
from embedded_stack.apigateway.pipeline import MAX_PAYLOAD_BYTES, Outcome, Pipeline, RunnerLike
from embedded_stack.apigateway.request import IncomingRequest
from embedded_stack.apigateway.routing import RouteTable
from embedded_stack.apigateway.usageplans import UsagePlans

log = logging.getLogger("embedded.gateway")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256
    gateway: Gateway


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes; with Nagle on, a kept-alive client waits for a
    # delayed ACK (~40 ms) on every response.
    disable_nagle_algorithm = True
    # Idle kept-alive connections are closed after this many seconds (each holds a thread).
    timeout = 60
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence http.server's stderr lines: the access log says it better."""

    def _serve(self) -> None:
        gateway = self.server.gateway
        raw_path, _, query = self.path.partition("?")
        length_header = self.headers.get("Content-Length")
        chunked = "chunked" in (self.headers.get("Transfer-Encoding") or "").lower()
        try:
            length = int(length_header) if length_header else 0
        except ValueError:
            self._write(
                r.HttpResponse(400, [("Content-Type", "application/json")], b'{"message":"Bad Request"}')
            )
            self.close_connection = True
            return
        if length > MAX_PAYLOAD_BYTES:
            # Read (and drop) what the client sends before answering: closing a socket with unread
            # data resets it, and the client would see a connection error instead of the 413.
            self._discard(length)
            self.close_connection = True
            body = b""
            too_large = True
        else:
            too_large = False
            body = self._read_chunked() if chunked else self.rfile.read(length) if length else b""
            if body is None:
                too_large = True
                body = b""
                self.close_connection = True
        request = IncomingRequest(
            http_method=self.command,
            path=raw_path,
            query_string=query,
            headers=list(self.headers.items()),
            body=body,
            source_ip=self.client_address[0],
            protocol=self.request_version,
            host=self.headers.get("Host") or f"{gateway.host}:{gateway.port}",
            oversized=too_large,
        )
        outcome = gateway.dispatch(request)
        self._write(outcome.response, head=self.command == "HEAD")

    def _discard(self, length: int, cap: int = 8 * MAX_PAYLOAD_BYTES) -> None:
        """Drain up to ``cap`` bytes of a body we will not use."""
        remaining = min(length, cap)
        while remaining > 0:
            chunk = self.rfile.read(min(remaining, 1 << 20))
            if not chunk:
                return
            remaining -= len(chunk)

    def _read_chunked(self) -> bytes | None:
        """Decode a chunked body; None if it passes the payload limit (the rest is drained)."""
        data = bytearray()
        seen = 0
        while True:
            try:
                size = int(self.rfile.readline(1024).split(b";", 1)[0].strip() or b"0", 16)
            except ValueError:
                return None  # not chunked encoding at all: refuse it like an oversized body
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return bytes(data) if seen <= MAX_PAYLOAD_BYTES else None
            seen += size
            if seen > 8 * MAX_PAYLOAD_BYTES:
                return None
            chunk = self.rfile.read(size)
            if seen <= MAX_PAYLOAD_BYTES:
                data += chunk
            self.rfile.readline(16)

    def _write(self, response: r.HttpResponse, head: bool = False) -> None:
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if not head:
            self.wfile.write(response.body)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _serve


class Gateway:
    """API Gateway REST's data plane for one stage, configured only from the control plane."""

    def __init__(
        self,
        apigw_client: Any,
        runner: RunnerLike,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        rest_api_id: str | None = None,
        stage: str | None = None,
        access_log_path: Path | None = None,
        refresh_interval_s: float = 2.0,
        max_concurrency: int = 64,
    ) -> None:
        self._client = apigw_client
        self.host = host
        self._requested_port = port
        self._rest_api_id = rest_api_id
        self._stage = stage
        self._refresh_interval_s = refresh_interval_s
        self._executor = ThreadPoolExecutor(max_workers=max_concurrency, thread_name_prefix="apigw-invoke")
        self.pipeline = Pipeline(
            runner,
            self._executor,
            UsagePlans(BucketRegistry(), QuotaCounter()),
            LambdaAuthorizers(runner, self._executor),
        )
        self.access_log = AccessLog(access_log_path)
        self._state: tuple[controlplane.Snapshot, RouteTable] | None = None
        self._server: _Server | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()
        self._refresh_lock = threading.Lock()

    # -- lifecycle -------------------------------------------------------------------------------
    def start(self) -> Gateway:
        """Read the control plane and start serving; raises ControlPlaneError if nothing to serve."""
        self._rest_api_id, self._stage = controlplane.find_api(self._client, self._rest_api_id, self._stage)
        self.refresh(force=True)
        self._server = _Server((self.host, self._requested_port), _Handler)
        self._server.gateway = self
        serve = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="apigw-http", daemon=True
        )
        serve.start()
        self._threads.append(serve)
        if self._refresh_interval_s > 0:
            watch = threading.Thread(target=self._watch, name="apigw-refresh", daemon=True)
            watch.start()
            self._threads.append(watch)
        log.info("API Gateway %s serving %s", self._rest_api_id, self.url)
        return self

    def stop(self) -> None:
        """Stop serving and waiting threads; in-flight invocations are abandoned."""
        self._stopping.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)
        self._executor.shutdown(wait=False, cancel_futures=True)

    def __enter__(self) -> Gateway:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        """The bound port (useful when constructed with port 0)."""
        if self._server is None:
            return self._requested_port
        return int(self._server.server_address[1])

    @property
    def stage(self) -> str:
        """The served stage name."""
        return self.snapshot.stage

    @property
    def url(self) -> str:
        """The stage base URL; routes are appended, e.g. f"{url}/items"."""
        return f"http://{self.host}:{self.port}/{self.stage}"

    @property
    def snapshot(self) -> controlplane.Snapshot:
        """The configuration currently served."""
        if self._state is None:
            raise RuntimeError("gateway not started")
        return self._state[0]

    # -- configuration ---------------------------------------------------------------------------
    def refresh(self, force: bool = False) -> bool:
        """Re-read the control plane if its fingerprint changed (or when forced); True if reloaded."""
        assert self._rest_api_id is not None and self._stage is not None
        with self._refresh_lock:
            if not force and self._state is not None:
                digest = controlplane.fingerprint(self._client, self._rest_api_id, self._stage)
                if digest == self._state[0].fingerprint:
                    return False
            snapshot = controlplane.load_snapshot(self._client, self._rest_api_id, self._stage)
            self._state = (snapshot, RouteTable(snapshot.methods))
            log.info(
                "gateway configuration loaded: deployment %s, %d methods, %d keys",
                snapshot.deployment_id,
                len(snapshot.methods),
                len(snapshot.keys_by_value),
            )
            return True

    def _watch(self) -> None:
        while not self._stopping.wait(self._refresh_interval_s):
            try:
                self.refresh()
            except Exception:  # keep serving the last good configuration
                log.exception("gateway refresh failed; keeping the previous configuration")

    def usage(
        self,
        usage_plan_id: str,
        *,
        api_stages: list[tuple[str, str]],
        quota: dict[str, Any] | None,
        key_ids: list[str],
        start: date,
        end: date,
    ) -> dict[str, list[list[int]]]:
        """GetUsage's items for a plan from this gateway's counters ({} unless the plan covers its stage)."""
        if (self._rest_api_id, self._stage) not in api_stages:
            return {}
        return self.pipeline.plans.usage(usage_plan_id, quota, key_ids, start, end)

    # -- requests --------------------------------------------------------------------------------
    def dispatch(self, request: IncomingRequest) -> Outcome:
        """Route a request whose path still starts with the stage; write its access log line."""
        snapshot, routes = self._state  # type: ignore[misc]
        prefix = f"/{snapshot.stage}"
        if request.path != prefix and not request.path.startswith(prefix + "/"):
            # No such stage on this API: API Gateway answers a bare 403 Forbidden.
            response = r.HttpResponse(
                403,
                [("Content-Type", "application/json"), ("x-amzn-ErrorType", "ForbiddenException")],
                b'{"message":"Forbidden"}',
            )
            return Outcome(response=response, context={"status": "403"})
        relative = request.path[len(prefix) :] or "/"
        outcome = self.pipeline.handle(snapshot, routes, dataclasses.replace(request, path=relative))
        try:
            line = self.access_log.write(snapshot.access_log_format, outcome.context)
            log.info("%s", line)
        except OSError:
            log.exception("could not write the access log")
        return outcome
