"""Measurements 5 and 6: the embedded stack through its gateway, and `make run` to ready.

`make run` is started exactly as a user starts it (a child process group, stopped with SIGINT like
Ctrl-C; only EMBEDDED_STATE_DIR points at this suite's cache, so a running stack is never wiped),
twice: the second run is the one the target is about (venvs, zips, provider and code caches exist).
The stack of the last run then serves measurement 5: latency through gateway + warm worker beside the
same handler in a Lambda-like interpreter (worker.py) on the same moto endpoint, and throughput of a
few concurrent loopback clients beside moto's own rate for the same read. Helpers of
benchmarks/measure_local.py are reused; its in-process handler is not, because importing a handler here
would patch this process's botocore with X-Ray and slow down the raw-moto clients we compare against.
"""

import collections
import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import boto3
import requests

from benchmarks.events import item_path, new_item, rest_event
from benchmarks.harness import Entry, handler_entries, run_worker
from benchmarks.sandbox import CACHE, REPO, Log, Sandbox
from benchmarks.stats import ratio, summary

STATE_DIR = CACHE / "make-run-state"
READY = re.compile(r"Embedded stack ready in ([\d.]+) s \(build \+ terraform ([\d.]+) s\)")
TARGETS = {"p50": 2.0, "p99": 3.0, "throughput": 0.6, "make_run_s": 60.0}


class MakeRun:
    """`make run` in its own process group; remembers when the ready banner appeared."""

    def __init__(self, log: Log) -> None:
        self._log = log
        self.tail: collections.deque[str] = collections.deque(maxlen=60)
        self.ready = threading.Event()
        self.banner: tuple[float, float] | None = None
        self.ready_after_s: float | None = None
        self.others_at_start = 0
        self.timings: dict[str, float] = {}
        # Its own state dir, so a developer's `make run` or an e2e session is never wiped by ours.
        env = {**os.environ, "EMBEDDED_API_PORT": "0", "EMBEDDED_AWS_PORT": "0",
               "EMBEDDED_STATE_DIR": str(STATE_DIR)}  # fmt: skip
        self._started = time.monotonic()
        self._proc = subprocess.Popen(
            ["make", "--no-print-directory", "run"],  # noqa: S607 - make from PATH, as a user runs it
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self._proc.stdout is not None
        for line in self._proc.stdout:
            self.tail.append(line.rstrip())
            match = READY.search(line)
            if match and not self.ready.is_set():
                self.ready_after_s = time.monotonic() - self._started
                self.banner = (float(match.group(1)), float(match.group(2)))
                self.ready.set()

    def wait_ready(self, timeout_s: float = 600.0) -> None:
        """Block until the banner, or raise with the end of the output."""
        deadline = time.monotonic() + timeout_s
        while not self.ready.wait(0.5):
            if self._proc.poll() is not None or time.monotonic() > deadline:
                tail = "\n".join(list(self.tail)[-15:])
                raise RuntimeError(f"make run did not become ready (exit {self._proc.poll()}):\n{tail}")

    def stop(self) -> None:
        """Ctrl-C for the whole group, then wait; SIGKILL only if it does not stop."""
        if self._proc.poll() is None:
            os.killpg(self._proc.pid, signal.SIGINT)
            try:
                self._proc.wait(timeout=90)
            except subprocess.TimeoutExpired:
                os.killpg(self._proc.pid, signal.SIGKILL)
                self._proc.wait(timeout=30)
        self._reader.join(timeout=10)


def other_stacks() -> int:
    """Embedded stacks running on this machine that are not ours (they share Terraform's lock)."""
    count = 0
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            argv = cmdline.read_bytes().split(b"\0")
        except OSError:
            continue
        if b"embedded_stack" in argv and b"-m" in argv:
            count += 1
    return count


def wait_for_quiet(log: Log, timeout_s: float = 300.0) -> int:
    """Wait until no other embedded stack runs (their applies would queue ours); return how many were left."""
    deadline = time.monotonic() + timeout_s
    busy = other_stacks()
    if busy:
        log(f"  waiting for {busy} other embedded stack(s) to finish (at most {timeout_s:.0f} s)")
    while busy and time.monotonic() < deadline:
        time.sleep(5)
        busy = other_stacks()
    return busy


@contextmanager
def make_run(log: Log) -> Iterator[MakeRun]:
    """One `make run`, ready on entry, stopped on exit; started when no other stack runs if possible."""
    others = wait_for_quiet(log)
    run = MakeRun(log)
    run.others_at_start = others
    try:
        run.wait_ready()
        timings = STATE_DIR / "timings.json"
        if timings.exists():  # the stack's own breakdown: moto, runtime venv, build + terraform, gateway
            run.timings = json.loads(timings.read_text())
        yield run
    finally:
        run.stop()


def unavailable() -> str | None:
    """Why the embedded stack cannot run here, or None."""
    if shutil.which("terraform") is None:
        return "terraform is not on PATH: the embedded stack deploys with terraform apply"
    if shutil.which("make") is None:
        return "make is not on PATH"
    if not (REPO / "scripts" / "embedded" / "stack.py").exists():
        return "embedded_stack/stack.py is missing"
    return None


def _stack_document() -> dict[str, Any]:
    return json.loads((STATE_DIR / "stack.json").read_text())


def _time(call: Callable[[], None], n: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        call()
    out = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def _gateway_call(url: str, api_key: str, method: str, expected: int) -> Callable[[], None]:
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


def _raw_moto_get(stack: dict[str, Any], key: dict[str, Any]) -> Callable[[], None]:
    client = boto3.client(
        "dynamodb",
        endpoint_url=stack["aws_endpoint_url"],
        region_name=stack.get("region", "us-east-1"),
        aws_access_key_id="bench",
        aws_secret_access_key="bench",  # noqa: S106 - the embedded stack accepts anything
    )

    def call() -> None:
        if "Item" not in client.get_item(TableName=stack["table_name"], Key=key):
            raise RuntimeError("raw get_item found no item")

    return call


def measure_stack(box: Sandbox, stack: dict[str, Any], *, requests_n: int, clients: int, log: Log) -> dict:
    """Measurement 5 against a running stack (its stack.json document)."""
    from benchmarks import measure_local  # noqa: PLC0415 - only when the embedded stack exists

    _, partner = measure_local.pick_partner(stack)
    api_key = partner["api_key"]
    key_id = measure_local.key_id_of(stack, api_key)
    item_id = measure_local.seed_item(stack, api_key)
    blocks = 5 if requests_n >= 50 else 1
    resource, path, params = item_path(item_id)
    get = _latency_pair(
        box, stack, "GET /items/{id}",
        gateway=measure_local.gateway_get(stack, api_key, item_id), entry=_entry("get_item"),
        event=rest_event("GET", resource, path, path_parameters=params, partner=key_id),
        requests_n=requests_n, blocks=blocks, log=log,
    )  # fmt: skip
    post = _latency_pair(
        box, stack, "POST /items",
        gateway=_gateway_call(f"{stack['api_url']}/items", api_key, "POST", 201), entry=_entry("create_item"),
        event=rest_event("POST", "/items", "/items", body=new_item("bench-embedded"), partner=key_id),
        requests_n=requests_n, blocks=blocks, log=log,
    )  # fmt: skip
    key = {"PK": {"S": f"P#{key_id}#I#{item_id}"}, "SK": {"S": "ITEM"}}
    gateway_calls = [measure_local.gateway_get(stack, api_key, item_id) for _ in range(clients)]
    moto_calls = [_raw_moto_get(stack, key) for _ in range(clients)]
    total = requests_n * 2
    _throughput(gateway_calls, clients * 5)  # start one warm worker per concurrent client first
    gateway_rps, gateway_failures = _throughput(gateway_calls, total)
    moto_rps, moto_failures = _throughput(moto_calls, total)
    gateway_errors, moto_errors = len(gateway_failures), len(moto_failures)
    # 429s are the stage's own method throttling (terraform/stages/local.json "api.throttle") doing its job:
    # counted apart from real errors, since they cap what any client could get through this stage.
    throttled = sum(1 for failure in gateway_failures if ": 429 " in failure)
    rps_ratio = ratio(gateway_rps, moto_rps)
    log(f"  throughput with {clients} clients: gateway {gateway_rps:.0f}/s ({gateway_errors} errors), "
        f"moto raw get_item {moto_rps:.0f}/s ({moto_errors} errors)")  # fmt: skip
    for sample in sorted(set(gateway_failures + moto_failures))[:5]:
        log(f"    error: {sample}")
    rows = []
    for pair in (get, post):
        gw, local = pair["gateway"], pair["in_process"]
        rows.append(
            {
                "name": f"{pair['label']} p50",
                "result": f"{gw['p50']:.2f} ms via gateway",
                "reference": f"{local['p50']:.2f} ms in process",
                "ratio": f"{pair['p50_ratio']:.2f}x",
                "target": "<= 2x",
                "met": pair["p50_ratio"] is not None and pair["p50_ratio"] <= 2.0,
            }
        )
        rows.append(
            {
                "name": f"{pair['label']} p99",
                "result": f"{gw['p99']:.2f} ms via gateway",
                "reference": f"{local['p99']:.2f} ms in process",
                "ratio": f"{pair['p99_ratio']:.2f}x",
                "target": "<= 3x",
                "met": pair["p99_ratio"] is not None and pair["p99_ratio"] <= 3.0,
            }
        )
    outcome = f"{gateway_rps:.0f} req/s via gateway"
    if throttled:
        outcome += f" ({throttled} x 429 from the stage throttle)"
    if gateway_errors - throttled:
        outcome += f" ({gateway_errors - throttled} errors)"
    met = rps_ratio is not None and rps_ratio >= 0.6 and gateway_errors == throttled
    rows.append({"name": f"throughput, {clients} clients", "result": outcome,
                 "reference": f"moto raw get_item {moto_rps:.0f}/s", "ratio": f"{rps_ratio:.2f}x",
                 "target": ">= 0.6x", "met": met})  # fmt: skip
    latency = []
    for pair in (get, post):
        latency.append({"name": f"{pair['label']} gateway", **pair["gateway"]})
        latency.append({"name": f"{pair['label']} in process", **pair["in_process"]})
    return {
        "id": "embedded",
        "title": "Embedded stack: gateway + warm worker vs in process; throughput vs raw moto",
        "status": "ok",
        "clients": clients,
        "requests": requests_n,
        "pairs": [get, post],
        "throughput": {
            "gateway_rps": gateway_rps,
            "gateway_errors": gateway_errors,
            "gateway_throttled": throttled,
            "moto_rps": moto_rps,
            "moto_errors": moto_errors,
            "error_samples": sorted(set(gateway_failures + moto_failures))[:5],
            "ratio": rps_ratio,
        },
        "latency": latency,
        "rows": rows,
    }


_RESOURCE_DONE = re.compile(r"^(\S+): Creation complete after (?:(\d+)m)?(\d+)s")


def terraform_breakdown(log: Log) -> dict[str, Any]:
    """Where a deploy's time goes: build, init, workspace, apply (slowest resources), output.

    The same steps as scripts.tf.deploy_local, timed one by one against a fresh patched moto server,
    with this suite's own Terraform data and state folders (so a running stack is never disturbed).
    """
    import tempfile  # noqa: PLC0415

    from benchmarks.sandbox import CACHE  # noqa: PLC0415
    from embedded_stack.moto_server.server import start_moto  # noqa: PLC0415
    from scripts import tf  # noqa: PLC0415 - only when the embedded stack exists
    from scripts.build import build  # noqa: PLC0415
    from scripts.lambda_python import find_lambda_python  # noqa: PLC0415

    target = "lambda" if find_lambda_python() else "host"
    stage = json.loads((tf.TF_ROOT / "stages" / "local.json").read_text())
    steps: dict[str, float] = {}
    others = wait_for_quiet(log)
    moto = start_moto(0)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-tfstate-") as state:
            start = time.monotonic()
            artifacts = build(target, bool(stage.get("bundle_layer", False)), out=CACHE / "build")
            steps["build"] = time.monotonic() - start
            terraform = tf.Terraform(data_dir=CACHE / "tfdata", state_dir=Path(state))
            with tf.endpoint_override(moto.endpoint_url, stage["region"]):
                start = time.monotonic()
                terraform.init()
                steps["init"] = time.monotonic() - start
                start = time.monotonic()
                terraform.select_workspace("local")
                steps["workspace"] = time.monotonic() - start
                start = time.monotonic()
                flags = ("-input=false", "-auto-approve", "-no-color")
                applied = terraform.run("apply", *flags, *tf.var_args(artifacts))
                steps["apply"] = time.monotonic() - start
                start = time.monotonic()
                terraform.output()
                steps["output"] = time.monotonic() - start
    finally:
        moto.stop()
    slowest = []
    for line in applied.stdout.splitlines():
        match = _RESOURCE_DONE.match(line.strip())
        if match:
            seconds = int(match.group(2) or 0) * 60 + int(match.group(3))
            slowest.append({"resource": match.group(1), "seconds": seconds})
    slowest.sort(key=lambda r: r["seconds"], reverse=True)
    log("  terraform breakdown: " + ", ".join(f"{k} {v:.1f}s" for k, v in steps.items()))
    return {"target": target, "steps_s": steps, "resources": len(slowest), "slowest": slowest[:8],
            "other_stacks_at_start": others}  # fmt: skip


def _short(address: str) -> str:
    """module.functions.aws_lambda_function.this["get_item"] -> aws_lambda_function["get_item"]."""
    parts = address.split(".")
    kind = next((p for p in parts if p.startswith("aws_")), address)
    key = address[address.index("[") :] if "[" in address else ""
    return f"{kind}{key}"


def _make_run_result(runs: list[MakeRun], breakdown: dict[str, Any] | None) -> dict[str, Any]:
    rows = []
    for index, run in enumerate(runs, start=1):
        assert run.banner is not None and run.ready_after_s is not None
        total, terraform = run.banner
        second = index == len(runs) and len(runs) > 1
        rows.append({
            "name": f"run {index}" + (" (second run)" if second else " (first run)" if len(runs) > 1 else ""),
            "result": f"{run.ready_after_s:.1f} s to ready (stack says {total:.1f} s)",
            "reference": f"build + terraform {terraform:.1f} s",
            "ratio": f"{terraform / total:.0%} build + terraform" if total else "",
            "target": "<= 60 s (second run)" if second else "",
            "met": (run.ready_after_s <= TARGETS["make_run_s"]) if second else None,
            "ready_after_s": run.ready_after_s,
            "stack_total_s": total,
            "build_and_terraform_s": terraform,
            "other_stacks_at_start": run.others_at_start,
            "stack_timings": run.timings,
        })  # fmt: skip
        if run.others_at_start:
            rows[-1]["result"] += f" ({run.others_at_start} other stacks were running: lock waits included)"
    if breakdown is not None:
        steps = breakdown["steps_s"]
        top = ", ".join(f"{_short(r['resource'])} {r['seconds']}s" for r in breakdown["slowest"][:4])
        rows.append({
            "name": "terraform breakdown",
            "result": ", ".join(f"{k} {v:.1f} s" for k, v in steps.items()),
            "reference": f"slowest of {breakdown['resources']} resources: {top}",
            "ratio": "", "target": "", "met": None,
        })  # fmt: skip
    return {
        "id": "make_run",
        "title": "make run: seconds to ready, build + Terraform's share",
        "status": "ok",
        "breakdown": breakdown,
        "rows": rows,
    }


def measurements(
    box: Sandbox, chosen: set[str], *, requests_n: int, clients: int, quick: bool, log: Log
) -> list[dict[str, Any]]:
    """Measurements 5 and 6 (whichever are chosen), sharing the stack of the last `make run`."""
    wanted = [m for m in ("embedded", "make_run") if m in chosen]
    titles = {"embedded": "5. Embedded stack", "make_run": "6. make run to ready"}
    reason = unavailable()
    if quick:
        reason = "not in --quick: it needs two `make run`s (a Terraform apply each); `make bench` runs it"
    if reason:
        return [
            {"id": m, "title": titles[m], "status": "skipped", "reason": reason, "rows": []} for m in wanted
        ]
    results: dict[str, dict[str, Any]] = {}
    runs: list[MakeRun] = []
    if "make_run" in wanted:
        log("  make run #1 (caches warm up)")
        with make_run(log) as first:
            runs.append(first)
        log(f"  make run #1 ready after {first.ready_after_s:.1f} s")
        log("  make run #2 (the measured second run)")
    with make_run(log) as last:
        runs.append(last)
        log(f"  make run ready after {last.ready_after_s:.1f} s")
        if "embedded" in wanted:
            results["embedded"] = measure_stack(box, _stack_document(), requests_n=requests_n,
                                                clients=clients, log=log)  # fmt: skip
    if "make_run" in wanted:
        results["make_run"] = _make_run_result(runs, terraform_breakdown(log))
    return [results[m] for m in wanted]
