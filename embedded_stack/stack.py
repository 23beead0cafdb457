"""The embedded stack: moto, `terraform apply` of the local workspace, the runner, stream pollers, gateway.

    handle = start_stack(api_port=0)      # in-process (tests, benchmarks)
    handle.info["api_url"]                # the stack.json document
    handle.stop()

Everything the data plane serves is read back from what Terraform deployed into moto; nothing is
described a second time in Python. Per-run state lives under ``.local/`` (or $EMBEDDED_STATE_DIR, so
that tests can run a stack beside a developer's `make run`) and is wiped at start, except what only
makes reruns faster: Terraform's data dir, the code cache, the Lambda runtime venv (always
``.local/runtimes``) and the snapshot a clean stop saves, from which the next run restarts without
`terraform apply` when nothing changed (``restart``; ``fresh=True`` starts from nothing).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import boto3

from embedded_stack.event_sources import QueuePollers, ScheduledRules, StreamPollers
from embedded_stack.lambda_runtime import DEFAULT_STATE_DIR, Runner, ensure_runtime
from embedded_stack.moto_server import MotoServer, port_from_env, port_is_free, start_moto
from embedded_stack.moto_server import usage as moto_usage
from embedded_stack.restart import SavedState
from embedded_stack.stack_info import STAGE, stack_document

API_PORT_ENV = "EMBEDDED_API_PORT"
STATE_DIR_ENV = "EMBEDDED_STATE_DIR"  # per-run state (terraform state, logs, stack.json); default .local
DEFAULT_API_PORT = 8080
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
    queues: QueuePollers | None = None
    outputs: dict[str, Any] = field(default_factory=dict)  # `terraform output` of the last apply
    target: str = "lambda"  # what scripts/build.py builds for (see start_stack)
    saved: SavedState | None = None  # saves a snapshot at stop for the next run's fast restart
    _stopped: bool = False

    @property
    def api_url(self) -> str:
        return self.info["api_url"]

    @property
    def aws_endpoint_url(self) -> str:
        return self.info["aws_endpoint_url"]

    def reapply(self, timings: dict[str, float] | None = None) -> dict[str, Any]:
        """`terraform apply` again, incrementally (same state, same arguments as at start), then make
        every part serve what it deployed: the runner, the stream pollers, the scheduled rules, the
        gateway, stack.json. The saved fingerprint follows (see ``SavedState.diverging``)."""
        from embedded_stack import snapshot
        from scripts import tf
        from scripts.build import artifact_dir

        sources = None
        if self.saved is not None:
            # Until the apply has finished, moto may hold changes the fingerprint does not name. The
            # sources are read before the build, so a save during the apply shows as a change later.
            self.saved.diverging("terraform apply while serving")
            sources = snapshot.source_parts()
        self.outputs = _apply(
            self.moto.endpoint_url, self.state_dir, self.target, self.info["region"], timings
        )
        if self.saved is not None and sources is not None:
            settings = json.loads((tf.TF_ROOT / "stages" / f"{STAGE}.json").read_text())
            built = artifact_dir(self.target, bool(settings.get("bundle_layer")))
            self.saved.deployed(sources, built, self.state_dir / "tfdata")
        self.runner.invalidate()
        self.pollers.sync()
        if self.schedules is not None:
            self.schedules.sync()
        if self.gateway is not None:
            self.gateway.refresh(force=True)
        self.info = stack_document(self.outputs, self.api_url, self.aws_endpoint_url)
        _write_json_atomically(self.state_dir / "stack.json", self.info)
        return self.outputs

    def deploying_code(self) -> None:
        """A hot reload is about to publish code behind Terraform's back (see ``SavedState.diverging``)."""
        if self.saved is not None:
            self.saved.diverging("code published by the hot reload")

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        if self.gateway is not None:
            moto_usage.set_provider(None)
            self.gateway.stop()
        if self.schedules is not None:
            self.schedules.stop(timeout_s=0)
        if self.saved is not None:
            self.pollers.wait_idle(timeout_s=10)  # stream records already written reach their functions
        self.pollers.halt()
        if self.queues is not None:
            self.queues.halt()
        self.runner.close()  # kills workers, so a poller waiting on an invocation returns at once
        self.pollers.join()
        if self.queues is not None:
            self.queues.join()
        self.moto.stop()
        if self.saved is not None:  # moto no longer serves: its state is still
            checkpoints = self.pollers.checkpoints()
            self.timings["snapshot_save_s"] = self.saved.save(self.aws_endpoint_url, checkpoints)
            self.saved.release()


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


def _apply(
    endpoint_url: str, state_dir: Path, target: str, region: str, timings: dict[str, float] | None
) -> dict[str, Any]:
    """Build and `terraform apply` the local workspace against the moto endpoint; the outputs."""
    from scripts import tf

    return tf.deploy_local(
        endpoint_url,
        stage=STAGE,
        state_dir=state_dir / "tfstate",
        data_dir=state_dir / "tfdata",
        target=target,
        region=region,
        timings=timings,
    )


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


def _begin(
    saved: SavedState,
    state_dir: Path,
    aws_port: int | None,
    settings: dict[str, Any],
    timings: dict[str, float],
) -> tuple[_RuntimePrep, Future[Path] | None, MotoServer]:
    """Wipe the last run's state, mark this run, start moto (with the saved state, if any)."""
    background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="restart-build")
    try:
        _reset_state(state_dir)
        saved.mark_running()
        runtime = _RuntimePrep(timings)
        # A restart checks the artifacts' fingerprint: build them (subprocesses, mostly) while moto loads.
        built = background.submit(_build, runtime, settings) if saved.snapshot is not None else None
        t = time.monotonic()
        moto = start_moto(saved.aws_port(aws_port), before_serving=saved.load_into_moto)
        timings["moto_s"] = time.monotonic() - t  # with a restart, loading the saved state
    except BaseException:
        background.shutdown(cancel_futures=True)
        saved.release()
        raise
    background.shutdown(wait=False)
    return runtime, built, moto


def _build(runtime: _RuntimePrep, settings: dict[str, Any]) -> Path:
    from scripts.build import build

    _, is_lambda_runtime = runtime.result()
    return build("lambda" if is_lambda_runtime else "host", bool(settings.get("bundle_layer")))


def _restore_or_deploy(
    saved: SavedState,
    endpoint_url: str,
    *,
    state_dir: Path,
    target: str,
    settings: dict[str, Any],
    timings: dict[str, float],
    built: Future[Path] | None,
) -> dict[str, Any]:
    """Terraform's outputs: from the saved state when nothing changed, else from `terraform apply`
    (on the restored state, or from nothing). ``built``: the artifacts, built while moto loaded."""
    from embedded_stack import snapshot
    from scripts.build import artifact_dir

    outputs = None
    if saved.snapshot is not None and built is not None:
        outputs = saved.resume(endpoint_url, built, state_dir / "tfdata")
    saved.report()
    if outputs is None:
        tf_steps: dict[str, float] = {}
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="fingerprint") as pool:
            sources = pool.submit(snapshot.source_parts)  # read as the apply starts, off its critical path
            outputs = _apply(endpoint_url, state_dir, target, settings["region"], tf_steps)
        timings.update({f"terraform_{k}": v for k, v in tf_steps.items()})  # which step dominates
        bundle = bool(settings.get("bundle_layer"))
        saved.deployed(sources.result(), artifact_dir(target, bundle), state_dir / "tfdata")
    return outputs


def start_stack(
    *,
    api_port: int | None = None,
    aws_port: int | None = None,
    state_dir: Path | None = None,
    console: IO[str] | None = sys.stdout,
    ready_file: Path | None = None,
    fresh: bool = False,
    converge: bool = False,
) -> StackHandle:
    """Bring the whole backend up on 127.0.0.1 and write ``<state_dir>/stack.json`` (and ``ready_file``).

    The state a clean stop saved is restored unless ``fresh``; ``converge`` still runs `terraform apply`
    on it when nothing changed (the benchmarks' reference)."""
    from scripts import tf

    started = time.monotonic()
    timings: dict[str, float] = {}
    state_dir = state_dir or Path(os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR)
    port = _api_port(api_port)
    if port and not port_is_free(port):
        # Say so now, not after a minute of terraform apply.
        raise SystemExit(f"port {port} on 127.0.0.1 is in use; set {API_PORT_ENV} to a free port (0 = any)")
    settings = json.loads((tf.TF_ROOT / "stages" / f"{STAGE}.json").read_text())
    saved = SavedState(state_dir, stage=STAGE, fresh=fresh, converge=converge, console=console)
    runtime, built, moto = _begin(saved, state_dir, aws_port, settings, timings)
    runner = pollers = gateway = schedules = queues = None
    try:
        region = settings["region"]
        python, is_lambda_runtime = runtime.result()
        target = "lambda" if is_lambda_runtime else "host"
        t = time.monotonic()
        outputs = _restore_or_deploy(
            saved,
            moto.endpoint_url,
            state_dir=state_dir,
            target=target,
            settings=settings,
            timings=timings,
            built=built,
        )
        timings["build_and_terraform_s"] = time.monotonic() - t
        runner = Runner(moto.endpoint_url, region, state_dir=state_dir, python=python, console=console)
        pollers = StreamPollers(moto.endpoint_url, region, runner.invoke, checkpoints=saved.checkpoints())
        pollers.start()
        schedules = ScheduledRules(moto.endpoint_url, region, runner.invoke).start()
        queues = QueuePollers(moto.endpoint_url, region, runner.invoke).start()
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
        if queues is not None:
            queues.stop()
        if pollers is not None:
            pollers.stop()
        if runner is not None:
            runner.close()
        moto.stop()
        saved.release()  # its mark stays: the next run starts fresh
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
        queues=queues,
        outputs=outputs,
        target=target,
        saved=saved,
    )
