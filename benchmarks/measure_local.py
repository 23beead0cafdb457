"""Measure the embedded stack on this machine: time to ready, and GET /items/{id} latency.

    python benchmarks/measure_local.py                      # start a stack, measure, stop it
    python benchmarks/measure_local.py --stack-json .local/stack.json   # latency of a running stack only

Reports seconds from launch to ready (with Terraform's share when the stack reports its timings in
stack.json under ``timings``), and p50/p99 of ``GET /items/{id}`` through gateway and warm worker
beside the same ``get_item`` handler called in this process against the same moto endpoint.
Functions are importable (the benchmark suite reuses them); nothing here asserts a timing.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path
from types import ModuleType, SimpleNamespace
from typing import Any

import boto3
import requests

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Latency:
    """Percentiles of one series of timings, in milliseconds."""

    n: int
    p50_ms: float
    p99_ms: float
    min_ms: float
    max_ms: float


def summarise(samples_s: list[float]) -> Latency:
    """p50/p99/min/max of timings given in seconds (inclusive quantiles: fine for n >= 100)."""
    ms = sorted(s * 1000 for s in samples_s)
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return Latency(n=len(ms), p50_ms=cuts[49], p99_ms=cuts[98], min_ms=ms[0], max_ms=ms[-1])


@contextmanager
def started_stack(timeout_s: float = 900.0) -> Iterator[tuple[dict[str, Any], float]]:
    """Run ``python -m embedded_stack --ready-file`` and yield (stack.json, seconds to ready)."""
    with tempfile.TemporaryDirectory(prefix="measure-") as tmp:
        ready = Path(tmp) / "stack.json"
        env = {**os.environ, "EMBEDDED_API_PORT": "0", "EMBEDDED_AWS_PORT": "0", "PYTHONUNBUFFERED": "1"}
        log_path = Path(tmp) / "stack.log"
        log = log_path.open("wb")
        started = time.monotonic()
        proc = subprocess.Popen(
            [sys.executable, "-m", "embedded_stack", "--ready-file", str(ready)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            while not ready.exists():
                if proc.poll() is not None:
                    raise RuntimeError(f"stack exited with {proc.returncode}; see its log above")
                if time.monotonic() - started > timeout_s:
                    raise RuntimeError(f"stack not ready after {timeout_s:.0f} s")
                time.sleep(0.1)
            elapsed = time.monotonic() - started
            document = json.loads(ready.read_text())
            document.setdefault("timings", _banner_timings(log_path))
            yield document, elapsed
        finally:
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
            log.close()


_READY_LINE = re.compile(r"ready in ([\d.]+) s \(build \+ terraform ([\d.]+) s\)")


def _banner_timings(log_path: Path, wait_s: float = 15.0) -> dict[str, float]:
    """The stack's own split (total, build + terraform) from the banner `make run` prints."""
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        found = _READY_LINE.search(log_path.read_text(errors="replace"))
        if found:
            return {"total_s": float(found.group(1)), "build_and_terraform_s": float(found.group(2))}
        time.sleep(0.1)
    return {}


def pick_partner(stack: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The partner with the roomiest throttle, so the measurement is never throttled."""
    return max(stack["partners"].items(), key=lambda kv: (kv[1].get("throttle") or {}).get("burst_limit", 0))


def key_id_of(stack: dict[str, Any], api_key: str) -> str:
    """The API key id (our tenant id) of a key value, from stack.json or the control plane."""
    for partner in stack["partners"].values():
        if partner.get("api_key") == api_key and partner.get("api_key_id"):
            return str(partner["api_key_id"])
    client = _client(stack, "apigateway")
    for key in client.get_api_keys(includeValues=True, limit=500)["items"]:
        if key.get("value") == api_key:
            return str(key["id"])
    raise LookupError("API key not found in the control plane")


def _client(stack: dict[str, Any], service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=stack["aws_endpoint_url"],
        region_name=stack.get("region", "us-east-1"),
        aws_access_key_id="measure",
        aws_secret_access_key="measure",  # noqa: S106 - the embedded stack accepts anything
    )


def seed_item(stack: dict[str, Any], api_key: str) -> str:
    """Create one item through the API and return its id."""
    response = requests.post(
        f"{stack['api_url']}/items",
        json={"userId": "measure", "name": "measured", "info": {"n": 1}},
        headers={"x-api-key": api_key},
        timeout=30,
    )
    response.raise_for_status()
    return str(response.json()["id"])


def time_calls(call: Callable[[], Any], n: int, warmup: int = 20) -> list[float]:
    """Wall-clock seconds of ``n`` sequential calls after ``warmup`` untimed ones."""
    for _ in range(warmup):
        call()
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        call()
        samples.append(time.perf_counter() - started)
    return samples


def gateway_get(stack: dict[str, Any], api_key: str, item_id: str) -> Callable[[], Any]:
    """One GET /items/{id} over a kept-alive HTTP connection, through gateway and warm worker."""
    session = requests.Session()
    session.headers["x-api-key"] = api_key
    url = f"{stack['api_url']}/items/{item_id}"

    def call() -> None:
        response = session.get(url, timeout=30)
        if response.status_code != 200:
            raise RuntimeError(f"GET {url}: {response.status_code} {response.text[:200]}")

    return call


def load_handler(stack: dict[str, Any], function: str = "get_item") -> ModuleType:
    """Import a function's handler in this process, configured as Lambda would configure it."""
    table = stack["table_name"]
    os.environ.update(
        {
            "TABLE_NAME": table,
            "AWS_ENDPOINT_URL": stack["aws_endpoint_url"],
            "AWS_REGION": stack.get("region", "us-east-1"),
            "AWS_DEFAULT_REGION": stack.get("region", "us-east-1"),
            "AWS_ACCESS_KEY_ID": "measure",
            "AWS_SECRET_ACCESS_KEY": "measure",
            "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
            "LOG_LEVEL": "WARNING",
            "STAGE": stack.get("stage", "local"),
        }
    )
    shared = str(ROOT / "shared")
    if shared not in sys.path:
        sys.path.insert(0, shared)
    path = ROOT / "functions" / function / "handler.py"
    spec = importlib.util.spec_from_file_location(f"measured_{function}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def in_process_get(stack: dict[str, Any], key_id: str, item_id: str) -> Callable[[], Any]:
    """The same GET handled by get_item's handler called directly (no gateway, no worker)."""
    handler = load_handler(stack).handler
    event = {
        "resource": "/items/{id}",
        "path": f"/items/{item_id}",
        "httpMethod": "GET",
        "headers": {"Accept": "application/json"},
        "multiValueHeaders": {"Accept": ["application/json"]},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": {"id": item_id},
        "stageVariables": None,
        "requestContext": {
            "resourcePath": "/items/{id}",
            "httpMethod": "GET",
            "stage": stack.get("stage", "local"),
            "requestId": str(uuid.uuid4()),
            "identity": {"apiKeyId": key_id, "sourceIp": "127.0.0.1"},
        },
        "body": None,
        "isBase64Encoded": False,
    }
    context = SimpleNamespace(
        aws_request_id="measure",
        function_name="get_item",
        get_remaining_time_in_millis=lambda: 10_000,
    )

    def call() -> None:
        result = handler(event, context)
        if result["statusCode"] != 200:
            raise RuntimeError(f"in-process get_item: {result}")

    return call


def measure_latency(stack: dict[str, Any], n: int = 300) -> dict[str, Latency]:
    """p50/p99 through gateway + warm worker and in process, interleaved in blocks to share noise."""
    _, partner = pick_partner(stack)
    api_key = partner["api_key"]
    item_id = seed_item(stack, api_key)
    via_gateway = gateway_get(stack, api_key, item_id)
    direct = in_process_get(stack, key_id_of(stack, api_key), item_id)
    gateway_samples: list[float] = []
    direct_samples: list[float] = []
    block = max(1, n // 10)
    for _ in range(10):
        gateway_samples += time_calls(via_gateway, block, warmup=5)
        direct_samples += time_calls(direct, block, warmup=5)
    return {"gateway_warm_worker": summarise(gateway_samples), "in_process": summarise(direct_samples)}


def main(argv: list[str] | None = None) -> int:
    """Print (and optionally write) the measurements as JSON and a short table."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--stack-json", type=Path, help="measure a running stack instead of starting one")
    parser.add_argument("--requests", type=int, default=300, help="timed GETs per series (default 300)")
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args(argv)
    results: dict[str, Any] = {"machine": {"python": sys.version.split()[0], "cpus": os.cpu_count()}}
    if args.stack_json:
        stack = json.loads(args.stack_json.read_text())
        results["latency"] = {k: asdict(v) for k, v in measure_latency(stack, args.requests).items()}
    else:
        with started_stack() as (stack, ready_s):
            timings = stack.get("timings") or {}
            results["startup"] = {"ready_s": round(ready_s, 2), "stack_timings": timings}
            results["latency"] = {k: asdict(v) for k, v in measure_latency(stack, args.requests).items()}
    print(json.dumps(results, indent=2))
    if "startup" in results:
        startup = results["startup"]
        print(f"\nready in {startup['ready_s']} s; stack-reported timings: {startup['stack_timings']}")
    gw, direct = results["latency"]["gateway_warm_worker"], results["latency"]["in_process"]
    print(f"{'GET /items/{id}':<28}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"{'gateway + warm worker':<28}{gw['p50_ms']:>10.2f}{gw['p99_ms']:>10.2f}")
    print(f"{'handler in process':<28}{direct['p50_ms']:>10.2f}{direct['p99_ms']:>10.2f}")
    print(f"{'ratio':<28}{gw['p50_ms'] / direct['p50_ms']:>10.2f}{gw['p99_ms'] / direct['p99_ms']:>10.2f}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
