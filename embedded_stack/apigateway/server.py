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
import json
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
from embedded_stack.apigateway.framing import BadFraming, read_body
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
    """One connection. Every method token is served by ``_serve`` (API Gateway answers a method no
    route defines with its MISSING_AUTHENTICATION_TOKEN response, not the HTTP server's 501), and
    every answer, the HTTP server's own errors included, is JSON."""

    protocol_version = "HTTP/1.1"
    # Headers and body leave in separate writes; with Nagle on, a kept-alive client waits for a
    # delayed ACK (~40 ms) on every response.
    disable_nagle_algorithm = True
    # Idle kept-alive connections are closed after this many seconds (each holds a thread).
    timeout = 60
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Silence http.server's stderr lines: the access log says it better."""

    def __getattr__(self, name: str) -> Any:
        # http.server looks up do_<METHOD> for the request's method: TRACE, CONNECT, PROPFIND... too.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def send_error(self, code: int, message: str | None = None, explain: str | None = None) -> None:
        """The HTTP server's own errors (bad request line, headers too large...) as JSON, then close."""
        phrase = self.responses.get(code, ("Error",))[0]
        self.close_connection = True
        if self.request_version == "HTTP/0.9":  # an unparsable request line: still answer with a status
            self.request_version = "HTTP/1.1"
        body = json.dumps({"message": phrase}).encode()
        self._write(r.HttpResponse(code, [("Content-Type", "application/json")], body))

    def _serve(self) -> None:
        gateway = self.server.gateway
        raw_path, _, query = self.path.partition("?")
        try:
            body = read_body(self.headers, self.rfile, MAX_PAYLOAD_BYTES)
        except BadFraming as exc:
            log.info("%s %s: 400, %s", self.command, raw_path[:200], exc)
            self.send_error(400)
            return
        if body.oversized or not body.drained:
            self.close_connection = True
        request = IncomingRequest(
            http_method=self.command,
            path=raw_path,
            query_string=query,
            headers=list(self.headers.items()),
            body=body.data,
            source_ip=self.client_address[0],
            protocol=self.request_version,
            host=self.headers.get("Host") or f"{gateway.host}:{gateway.port}",
            oversized=body.oversized,
        )
        try:
            outcome = gateway.dispatch(request)
        except Exception:  # a bug of ours: answer as API Gateway's internal failure, keep serving
            log.exception("%s %s: the gateway failed", self.command, raw_path[:200])
            response = r.HttpResponse(
                500,
                [("Content-Type", "application/json"), ("x-amzn-ErrorType", "InternalServerErrorException")],
                b'{"message":"Internal server error"}',
            )
        else:
            response = outcome.response
        self._write(response, head=self.command == "HEAD")

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
