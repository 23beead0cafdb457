"""Measurement 5's figures: requests through the running stack's gateway, each beside its reference.

Latency: `GET /items/{id}` and `POST /items` through gateway + warm worker, beside the same handler in a
Lambda-like interpreter (worker.py) on the same moto endpoint. The handler never runs in this process:
importing it would patch this process's botocore with X-Ray and slow down the raw-moto clients.
Throughput: a few concurrent loopback clients through the gateway, beside moto's own rate for the same
`get_item`. The API key authorizer: the first request after start (cold workers, authorizer cache
miss), then warm requests right after the authorizer's TTL expired (a miss: the authorizer runs) and
right after that (a hit: API Gateway's cached answer).
"""

import threading
import time
from collections.abc import Callable
from typing import Any

import boto3
import requests

from benchmarks.events import item_path, new_item, rest_event
from benchmarks.harness import Entry, handler_entries, run_worker
from benchmarks.sandbox import Log, Sandbox
from benchmarks.stats import ratio, summary


def _client(stack: dict[str, Any], service: str) -> Any:
    return boto3.client(
        service,
        endpoint_url=stack["aws_endpoint_url"],
        region_name=stack.get("region", "us-east-1"),
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 - the embedded stack accepts anything
    )


def pick_partner(stack: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """The partner with the roomiest throttle, so the measurement is never throttled by its plan."""
    return max(stack["partners"].items(), key=lambda kv: (kv[1].get("throttle") or {}).get("burst_limit", 0))


def authorizer_ttl_s(stack: dict[str, Any]) -> float:
    """The deployed authorizer's result TTL (what API Gateway caches its answers for)."""
    client = _client(stack, "apigateway")
    api_id = client.get_rest_apis()["items"][0]["id"]
    (authorizer,) = client.get_authorizers(restApiId=api_id)["items"]
    return float(authorizer.get("authorizerResultTtlInSeconds", 300))


def seed_item(stack: dict[str, Any], api_key: str) -> tuple[str, float]:
    """Create one item through the API; its id and the milliseconds the request took."""
    start = time.perf_counter()
    response = requests.post(
        f"{stack['api_url']}/items",
        json={"userId": "measure", "name": "measured", "info": {"n": 1}},
        headers={"x-api-key": api_key},
        timeout=30,
    )
    elapsed = (time.perf_counter() - start) * 1000
    response.raise_for_status()
    return str(response.json()["id"]), elapsed


def _time(call: Callable[[], None], n: int, warmup: int) -> list[float]:
    """Milliseconds of `n` sequential calls after `warmup` untimed ones."""
    for _ in range(warmup):
        call()
    out = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _gateway_call(url: str, api_key: str, method: str, expected: int) -> Callable[[], None]:
    """One request over a kept-alive HTTP connection; any other status than `expected` raises."""
    session = requests.Session()
    session.headers["x-api-key"] = api_key

    def call() -> None:
        body = new_item(user_id="bench-embedded") if method == "POST" else None
        response = session.request(method, url, json=body, timeout=30)
        if response.status_code != expected:
            raise RuntimeError(f"{method} {url}: {response.status_code} {response.text[:200]}")

    return call


def _entry(name: str) -> Entry:
    found = [e for e in handler_entries() if e.name == name]
    if not found:
        raise RuntimeError(f"functions/{name}/handler.py is missing")
    return found[0]


def _latency_pair(
    box: Sandbox, stack: dict[str, Any], label: str, *, gateway: Callable[[], None], entry: Entry,
    event: dict[str, Any], requests_n: int, blocks: int, log: Log,
) -> dict[str, Any]:  # fmt: skip
    """Gateway and in-process samples, interleaved in blocks so both see the same machine load."""
    env = {
        "TABLE_NAME": stack["table_name"],
        "AWS_ENDPOINT_URL": stack["aws_endpoint_url"],
        "AWS_REGION": stack.get("region", "us-east-1"),
        "AWS_DEFAULT_REGION": stack.get("region", "us-east-1"),
        "STAGE": stack.get("stage", "local"),
    }
    per_block = max(1, requests_n // blocks)
    via_gateway: list[float] = []
    in_process: list[float] = []
    for _ in range(blocks):
        via_gateway += _time(gateway, per_block, warmup=5)
        result = run_worker(box, entry, "warm", env=env, events=[event], warmup=5, iterations=per_block)
        in_process += result["times_ms"]
    gw, local = summary(via_gateway), summary(in_process)
    p50, p99 = ratio(gw["p50"], local["p50"]), ratio(gw["p99"], local["p99"])
    log(f"  {label}: gateway p50 {gw['p50']:.2f} / p99 {gw['p99']:.2f} ms; in process p50 {local['p50']:.2f}"
        f" / p99 {local['p99']:.2f} ms")  # fmt: skip
    return {"label": label, "gateway": gw, "in_process": local, "p50_ratio": p50, "p99_ratio": p99}


def _throughput(calls: list[Callable[[], None]], total: int) -> tuple[float, list[str]]:
    """Successful requests per second of len(calls) concurrent clients sharing `total`, and the errors."""
    per_client = max(1, total // len(calls))
    errors: list[str] = []
    lock = threading.Lock()

    def client(call: Callable[[], None]) -> None:
        for _ in range(per_client):
            try:
                call()
            except Exception as exc:
                with lock:
                    errors.append(str(exc)[:160])

    threads = [threading.Thread(target=client, args=(c,)) for c in calls]
    start = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return (per_client * len(calls) - len(errors)) / (time.perf_counter() - start), errors


def _authorizer_cache(call: Callable[[], None], ttl_s: float, rounds: int, log: Log) -> dict[str, Any]:
    """Warm requests just after the authorizer's TTL expired (miss) and at once after (hit)."""
    miss: list[float] = []
    hit: list[float] = []
    call()  # warm the authorizer's and the function's workers
    for _ in range(rounds):
        time.sleep(ttl_s + 0.3)
        miss += _time(call, 1, warmup=0)
        hit += _time(call, 1, warmup=0)
    misses, hits = summary(miss), summary(hit)
    log(
        f"  authorizer: cache miss p50 {misses['p50']:.2f} ms, hit p50 {hits['p50']:.2f} ms (TTL {ttl_s:g} s)"
    )
    return {"ttl_s": ttl_s, "miss": misses, "hit": hits}


def _raw_moto_get(stack: dict[str, Any], key: dict[str, Any]) -> Callable[[], None]:
    client = _client(stack, "dynamodb")

    def call() -> None:
        if "Item" not in client.get_item(TableName=stack["table_name"], Key=key):
            raise RuntimeError("raw get_item found no item")

    return call


def measure(
    box: Sandbox, stack: dict[str, Any], *, requests_n: int, clients: int, log: Log
) -> dict[str, Any]:
    """Latency pairs and throughput against a running stack (its stack.json document); no verdicts."""
    partner_id, partner = pick_partner(stack)
    api_key = partner["api_key"]
    item_id, first_ms = seed_item(stack, api_key)  # the stack's first request: cold workers, a miss
    log(f"  first request after start (cold authorizer and function, authorizer miss): {first_ms:.0f} ms")
    blocks = 5 if requests_n >= 50 else 1
    resource, path, params = item_path(item_id)
    item_url = f"{stack['api_url']}/items/{item_id}"
    get = _latency_pair(
        box, stack, "GET /items/{id}",
        gateway=_gateway_call(item_url, api_key, "GET", 200), entry=_entry("get_item"),
        event=rest_event("GET", resource, path, path_parameters=params, partner=partner_id),
        requests_n=requests_n, blocks=blocks, log=log,
    )  # fmt: skip
    post = _latency_pair(
        box, stack, "POST /items",
        gateway=_gateway_call(f"{stack['api_url']}/items", api_key, "POST", 201), entry=_entry("create_item"),
        event=rest_event("POST", "/items", "/items", body=new_item("bench-embedded"), partner=partner_id),
        requests_n=requests_n, blocks=blocks, log=log,
    )  # fmt: skip
    authorizer = _authorizer_cache(
        _gateway_call(item_url, api_key, "GET", 200), authorizer_ttl_s(stack), max(3, requests_n // 30), log
    )
    authorizer["first_request_ms"] = first_ms
    key = {"PK": {"S": f"P#{partner_id}#I#{item_id}"}, "SK": {"S": "ITEM"}}
    gateway_calls = [_gateway_call(item_url, api_key, "GET", 200) for _ in range(clients)]
    moto_calls = [_raw_moto_get(stack, key) for _ in range(clients)]
    total = requests_n * 2
    _throughput(gateway_calls, clients * 5)  # start one warm worker per concurrent client first
    gateway_rps, gateway_failures = _throughput(gateway_calls, total)
    moto_rps, moto_failures = _throughput(moto_calls, total)
    gateway_errors, moto_errors = len(gateway_failures), len(moto_failures)
    # 429s are the stage's own method throttling (terraform/stages/local.json "api.throttle") doing its job:
    # counted apart from real errors, since they cap what any client could get through this stage.
    throttled = sum(1 for failure in gateway_failures if ": 429 " in failure)
    log(f"  throughput with {clients} clients: gateway {gateway_rps:.0f}/s ({gateway_errors} errors), "
        f"moto raw get_item {moto_rps:.0f}/s ({moto_errors} errors)")  # fmt: skip
    samples = sorted(set(gateway_failures + moto_failures))[:5]
    for sample in samples:
        log(f"    error: {sample}")
    return {
        "clients": clients,
        "requests": requests_n,
        "pairs": [get, post],
        "authorizer": authorizer,
        "throughput": {
            "gateway_rps": gateway_rps,
            "gateway_errors": gateway_errors,
            "gateway_throttled": throttled,
            "moto_rps": moto_rps,
            "moto_errors": moto_errors,
            "error_samples": samples,
            "ratio": ratio(gateway_rps, moto_rps),
        },
    }
