"""The embedded stack: moto, `terraform apply` of the local workspace, the runner, stream pollers, gateway.

    handle = start_stack(api_port=0)      # in-process (tests, benchmarks)
    handle.info["api_url"]                # the stack.json document
    handle.stop()

Everything the data plane serves is read back from what Terraform deployed into moto; nothing is
described a second time in Python. Per-run state lives under ``.local/`` (or $EMBEDDED_STATE_DIR, so
that tests can run a stack beside a developer's `make run`) and is wiped at start, except what only
makes reruns faster: Terraform's data dir, the code cache, and the Lambda runtime venv, which is
always ``.local/runtimes``.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import boto3

from embedded_stack.event_sources import ScheduledRules, StreamPollers
from embedded_stack.lambda_runtime import DEFAULT_STATE_DIR, Runner, ensure_runtime
from embedded_stack.moto_server import MotoServer, port_from_env, port_is_free, start_moto
from embedded_stack.moto_server import usage as moto_usage

REPO_ROOT = Path(__file__).resolve().parents[1]
API_PORT_ENV = "EMBEDDED_API_PORT"
STATE_DIR_ENV = "EMBEDDED_STATE_DIR"  # per-run state (terraform state, logs, stack.json); default .local
DEFAULT_API_PORT = 8080
STAGE = "local"
# Per-run state: removed at start so that a second run starts clean.
_RUN_STATE = ("tfstate", "logs", "stack.json", "timings.json")


def _api_port(explicit: int | None) -> int:
    return explicit if explicit is not None else port_from_env(API_PORT_ENV, DEFAULT_API_PORT)


def _write_json_atomically(path: Path, document: dict[str, Any]) -> None:
    """Readers poll for the file: it must appear complete or not at all."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(json.dumps(document, indent=2) + "\n")
    os.replace(tmp, path)


def stack_document(outputs: dict[str, Any], api_url: str, endpoint_url: str) -> dict[str, Any]:
    """The `.local/stack.json` contract of issues 4 and 10, from `terraform output`.

    Each partner keeps ``api_key`` / ``api_key_id`` (its first read-write key by name, as Terraform
    picks it) and lists every key in ``keys`` (by name: name, api_key, api_key_id, scope).
    """
    values = outputs.get("api_key_values") or {}
    partners = {}
    for name, partner in sorted((outputs.get("partners") or {}).items()):
        mine = values.get(name) or {}
        keys = [
            {
                "name": key,
                "api_key": mine.get(key),
                "api_key_id": info.get("api_key_id"),
                "scope": info.get("scope"),
            }
            for key, info in sorted((partner.get("keys") or {}).items())
        ]
        first = next((k for k in keys if k["api_key_id"] == partner.get("api_key_id")), None)
        partners[name] = {
            "api_key": first["api_key"] if first else None,
            "api_key_id": partner.get("api_key_id"),
            "usage_plan": partner.get("usage_plan"),
            "throttle": partner.get("throttle"),
            "quota": partner.get("quota"),
            "keys": keys,
        }
    return {
        "api_url": api_url,
        "aws_endpoint_url": endpoint_url,
        "region": outputs["region"],
        "stage": outputs.get("stage", STAGE),
        "table_name": outputs.get("table_name"),
        "audit_bucket": outputs.get("audit_bucket"),
        "audit_failure_bucket": outputs.get("audit_failure_bucket"),
        "dlq_urls": outputs.get("dlq_urls") or {},
        "cursor_secret_id": outputs.get("cursor_secret_id"),
        "partners": partners,
    }


@dataclass
class StackHandle:
    """A running embedded stack; ``stop()`` ends every thread and process it started."""

    info: dict[str, Any]
    moto: MotoServer
    runner: Runner
    pollers: StreamPollers
    gateway: Any
    timings: dict[str, float] = field(default_factory=dict)
    state_dir: Path = DEFAULT_STATE_DIR
    schedules: ScheduledRules | None = None
    _stopped: bool = False

    @property
    def api_url(self) -> str:
        return self.info["api_url"]

    @property
    def aws_endpoint_url(self) -> str:
        return self.info["aws_endpoint_url"]

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.gateway is not None:
            moto_usage.set_provider(None)
            self.gateway.stop()
        if self.schedules is not None:
            self.schedules.stop(timeout_s=0)
        self.pollers.halt()
        self.runner.close()  # kills workers, so a poller waiting on an invocation returns at once
        self.pollers.join()
        self.moto.stop()


def _start_gateway(
    endpoint_url: str, region: str, runner: Runner, outputs: dict[str, Any], *, port: int, logs: Path
) -> Any:
    from embedded_stack.apigateway.server import Gateway

    apigw = boto3.client(
        "apigateway",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id="embedded",
        aws_secret_access_key="embedded",  # noqa: S106 - moto accepts anything
    )
    gateway = Gateway(
        apigw,
        runner,
        "127.0.0.1",
        port,
        rest_api_id=outputs.get("rest_api_id"),
        stage=outputs.get("api_stage_name"),
        access_log_path=logs / "api-access.log",
    ).start()
    moto_usage.set_provider(gateway.usage)  # GetUsage on the AWS endpoint reads the gateway's counters
    return gateway


def _reset_state(state_dir: Path) -> None:
    """Remove the previous run's state so that this run starts clean."""
    for name in _RUN_STATE:
        target = state_dir / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
    state_dir.mkdir(parents=True, exist_ok=True)


class _RuntimePrep(threading.Thread):
    """The Lambda runtime venv (first run: a pip install) is independent of Terraform: made meanwhile."""

    def __init__(self, timings: dict[str, float]) -> None:
        super().__init__(name="lambda-runtime", daemon=True)
        self._timings = timings
        self._value: tuple[str, bool] | None = None
        self._error: BaseException | None = None
        self.start()

    def run(self) -> None:
        t = time.monotonic()
        try:
            self._value = ensure_runtime()  # shared by every state dir: built once
        except Exception as exc:  # re-raised in the caller's thread by result()
            self._error = exc
        self._timings["runtime_s"] = time.monotonic() - t

    def result(self) -> tuple[str, bool]:
        self.join()
        if self._error is not None:
            raise self._error
        assert self._value is not None
        return self._value


def start_stack(
    *,
    api_port: int | None = None,
    aws_port: int | None = None,
    state_dir: Path | None = None,
    console: IO[str] | None = sys.stdout,
    ready_file: Path | None = None,
) -> StackHandle:
    """Bring the whole backend up on 127.0.0.1 and write ``<state_dir>/stack.json`` (and ``ready_file``)."""
    from scripts import tf

    started = time.monotonic()
    timings: dict[str, float] = {}
    state_dir = state_dir or Path(os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR)
    port = _api_port(api_port)
    if port and not port_is_free(port):
        # Say so now, not after a minute of terraform apply.
        raise SystemExit(f"port {port} on 127.0.0.1 is in use; set {API_PORT_ENV} to a free port (0 = any)")
    _reset_state(state_dir)
    runtime = _RuntimePrep(timings)

    t = time.monotonic()
    moto = start_moto(aws_port)
    timings["moto_s"] = time.monotonic() - t
    runner = pollers = gateway = schedules = None
    try:
        region = json.loads((tf.TF_ROOT / "stages" / f"{STAGE}.json").read_text())["region"]
        python, is_lambda_runtime = runtime.result()
        tf_steps: dict[str, float] = {}
        t = time.monotonic()
        outputs = tf.deploy_local(
            moto.endpoint_url,
            stage=STAGE,
            state_dir=state_dir / "tfstate",
            data_dir=state_dir / "tfdata",
            target="lambda" if is_lambda_runtime else "host",
            region=region,
            timings=tf_steps,
        )
        timings["build_and_terraform_s"] = time.monotonic() - t
        timings.update({f"terraform_{k}": v for k, v in tf_steps.items()})  # which step dominates
        runner = Runner(moto.endpoint_url, region, state_dir=state_dir, python=python, console=console)
        pollers = StreamPollers(moto.endpoint_url, region, runner.invoke).start()
        schedules = ScheduledRules(moto.endpoint_url, region, runner.invoke).start()
        t = time.monotonic()
        gateway = _start_gateway(
            moto.endpoint_url, region, runner, outputs, port=port, logs=state_dir / "logs"
        )
        timings["gateway_s"] = time.monotonic() - t
        api_url = str(gateway.url).rstrip("/")
        info = stack_document(outputs, api_url, moto.endpoint_url)
    except BaseException:
        if gateway is not None:
            gateway.stop()
        if schedules is not None:
            schedules.stop(timeout_s=0)
        if pollers is not None:
            pollers.stop()
        if runner is not None:
            runner.close()
        moto.stop()
        raise
    timings["total_s"] = time.monotonic() - started
    _write_json_atomically(state_dir / "timings.json", timings)  # for scripts measuring time to ready
    _write_json_atomically(state_dir / "stack.json", info)
    if ready_file is not None:
        _write_json_atomically(ready_file, info)
    return StackHandle(
        info=info,
        moto=moto,
        runner=runner,
        pollers=pollers,
        gateway=gateway,
        timings=timings,
        state_dir=state_dir,
        schedules=schedules,
    )


def _shown(path: Path) -> str:
    """A path relative to the checkout when it lies inside it (what a user types), else absolute."""
    try:
        return str(path.resolve().relative_to(REPO_ROOT))
    except ValueError:
        return str(path)


def banner(handle: StackHandle) -> str:
    """What `make run` prints when ready: where things are, each partner's key, a curl to try."""
    info = handle.info
    t = handle.timings
    lines = [
        "",
        f"Embedded stack ready in {t.get('total_s', 0):.1f} s "
        f"(build + terraform {t.get('build_and_terraform_s', 0):.1f} s)",
        f"  API (stage {info['stage']}): {info['api_url']}",
        f"  AWS endpoint:     {info['aws_endpoint_url']}  (region {info['region']})",
        f"  Table:            {info['table_name']}    Audit bucket: {info['audit_bucket']}",
        "  Partners:",
    ]
    for name, p in info["partners"].items():
        throttle, quota = p.get("throttle") or {}, p.get("quota") or {}
        lines.append(
            f"    {name:<20} plan {p['usage_plan']:<12} rate {throttle.get('rate_limit')}/s "
            f"burst {throttle.get('burst_limit')}  quota {quota.get('limit')}/{quota.get('period')}  "
            f"x-api-key: {p['api_key']}"
        )
        for key in p.get("keys") or []:
            if key["api_key"] != p["api_key"]:
                lines.append(
                    f"    {'':<20} key {key['name']:<12} {key['scope']:<10}  x-api-key: {key['api_key']}"
                )
    key = next(iter(info["partners"].values()), {}).get("api_key", "<key>")
    lines += [
        "  Try:",
        f"    curl -s -X POST {info['api_url']}/items -H 'x-api-key: {key}' "
        '-H \'content-type: application/json\' -d \'{"userId": "u1", "name": "first"}\'',
        f"    curl -s {info['api_url']}/items?userId=u1 -H 'x-api-key: {key}'",
        f"    aws --endpoint-url {info['aws_endpoint_url']} --region {info['region']} "
        f"dynamodb scan --table-name {info['table_name']}",
        f"  Written to {_shown(handle.state_dir / 'stack.json')}; function logs in "
        f"{_shown(handle.state_dir / 'logs')}/. Ctrl-C stops everything.",
        "",
    ]
    return "\n".join(lines)
