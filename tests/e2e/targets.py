"""Where the end-to-end suite runs: the embedded stack (default), LocalStack, or a deployed AWS stage.

``E2E_TARGET=local`` starts ``python -m embedded_stack --ready-file ... --no-reload`` once per session
(no hot reload: an edit made while the suite runs must not change the code under test), or uses a
running stack when ``E2E_STACK_JSON`` names its ``.local/stack.json``. ``localstack`` and ``aws`` read
``terraform output -json`` of a workspace (``E2E_WORKSPACE``, default ``localstack`` / ``dev``; or a
saved copy named by ``E2E_TF_OUTPUTS``); ``E2E_API_URL`` overrides the URL the outputs give.
Everything else in the suite speaks HTTP to ``StackInfo.api_url`` only.
"""

from __future__ import annotations

import fcntl
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = float(os.environ.get("E2E_READY_TIMEOUT_S", "600"))


@dataclass(frozen=True)
class Key:
    """One API key of a partner: its name, value (secret), id and scope (read-write or read-only)."""

    name: str
    api_key: str
    api_key_id: str | None
    scope: str


@dataclass(frozen=True)
class Partner:
    """One partner (its name is its tenant id): its first read-write API key, plan, limits, every key."""

    name: str
    api_key: str
    usage_plan: str
    rate_limit: float
    burst_limit: int
    quota_limit: int | None
    quota_period: str | None
    api_key_id: str | None = None
    keys: tuple[Key, ...] = ()

    def with_scope(self, scope: str) -> list[Key]:
        """The partner's keys of one scope, by name."""
        return [k for k in self.keys if k.scope == scope]


@dataclass(frozen=True)
class StackInfo:
    """What the tests need to reach a target; shaped like ``.local/stack.json``."""

    target: str
    api_url: str
    stage: str
    region: str
    partners: dict[str, Partner]
    aws_endpoint_url: str | None = None
    table_name: str | None = None
    audit_bucket: str | None = None
    dlq_urls: dict[str, str] = field(default_factory=dict)
    enforces_usage_plans: bool = True
    raw: dict[str, Any] = field(default_factory=dict)


def _partner(name: str, raw: dict[str, Any]) -> Partner:
    throttle = raw.get("throttle") or {}
    quota = raw.get("quota") or {}
    return Partner(
        name=name,
        api_key=raw["api_key"],
        usage_plan=str(raw.get("usage_plan", "")),
        rate_limit=float(throttle.get("rate_limit", 0) or 0),
        burst_limit=int(throttle.get("burst_limit", 0) or 0),
        quota_limit=int(quota["limit"]) if quota.get("limit") is not None else None,
        quota_period=quota.get("period"),
        api_key_id=raw.get("api_key_id"),
        keys=tuple(
            Key(name=k["name"], api_key=k["api_key"], api_key_id=k.get("api_key_id"), scope=k["scope"])
            for k in raw.get("keys") or []
        ),
    )


def from_stack_json(document: dict[str, Any], target: str = "local", enforces: bool = True) -> StackInfo:
    """Parse the stack.json contract (issue 4) into a StackInfo."""
    return StackInfo(
        target=target,
        api_url=document["api_url"].rstrip("/"),
        stage=document.get("stage", "local"),
        region=document.get("region", "us-east-1"),
        partners={name: _partner(name, raw) for name, raw in document["partners"].items()},
        aws_endpoint_url=document.get("aws_endpoint_url"),
        table_name=document.get("table_name"),
        audit_bucket=document.get("audit_bucket"),
        dlq_urls=dict(document.get("dlq_urls") or {}),
        enforces_usage_plans=enforces,
        raw=document,
    )


class LocalStack:
    """The embedded stack in a child process, stopped with SIGTERM (which it handles cleanly)."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="e2e-stack-")
        self.ready_file = Path(self._tmp.name) / "stack.json"
        self.log_file = Path(self._tmp.name) / "stack.log"
        self._proc: subprocess.Popen[bytes] | None = None
        self._lock: IO[bytes] | None = None
        self.state_dir = self._pick_state_dir()

    def _pick_state_dir(self) -> Path:
        """Never .local itself (a developer's `make run` lives there).

        ``.local/e2e-stack`` keeps Terraform's data dir between sessions (faster); a concurrent
        session that cannot take its lock gets a throwaway directory instead.
        """
        shared = ROOT / ".local" / "e2e-stack"
        shared.parent.mkdir(parents=True, exist_ok=True)
        lock = (ROOT / ".local" / "e2e-stack.lock").open("wb")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            lock.close()
            return Path(self._tmp.name) / "state"
        self._lock = lock
        return shared

    def start(self) -> StackInfo:
        """Start the stack and wait for its ready file (the child writes it when fully serving)."""
        env = {
            **os.environ,
            "EMBEDDED_API_PORT": os.environ.get("E2E_API_PORT", "0"),
            "EMBEDDED_AWS_PORT": os.environ.get("E2E_AWS_PORT", "0"),
            "EMBEDDED_STATE_DIR": str(self.state_dir),
            "PYTHONUNBUFFERED": "1",
        }
        with self.log_file.open("wb") as log:
            self._proc = subprocess.Popen(
                # --fresh: every session starts from nothing, whatever an earlier one left saved.
                [
                    sys.executable,
                    "-m",
                    "embedded_stack",
                    "--ready-file",
                    str(self.ready_file),
                    "--fresh",
                    "--no-reload",
                ],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # our SIGTERM reaches the stack, not pytest's terminal group
            )
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self.ready_file.exists():
            if self._proc.poll() is not None:
                raise RuntimeError(f"the embedded stack exited with {self._proc.returncode}:\n{self.tail()}")
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"the embedded stack was not ready in {READY_TIMEOUT_S:.0f} s:\n{self.tail()}"
                )
            time.sleep(0.2)
        return from_stack_json(json.loads(self.ready_file.read_text()), "local")

    def tail(self, lines: int = 60) -> str:
        """The end of the stack's console output, for failure messages."""
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no output)"

    def stop(self) -> None:
        """SIGTERM, then wait; SIGKILL the group only if it does not exit in time."""
        proc = self._proc
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(timeout=10)
        if self._lock is not None:
            self._lock.close()
        self._tmp.cleanup()


def _terraform_outputs(target: str, workspace: str) -> dict[str, Any]:
    """``terraform output -json`` values: a saved file (E2E_TF_OUTPUTS), else read from the state.

    LocalStack stages are deployed by ``scripts/tf.py`` (state under .local/<stage>/); AWS stages by
    ``scripts/deploy.sh`` (the root module's own backend), so each is read where it was written.
    """
    saved = os.environ.get("E2E_TF_OUTPUTS")
    if saved:
        raw = json.loads(Path(saved).read_text())
        return {k: v["value"] if isinstance(v, dict) and "value" in v else v for k, v in raw.items()}
    if target == "localstack":
        from scripts.tf import Terraform

        base = ROOT / ".local" / workspace
        tf = Terraform(data_dir=base / "tfdata", state_dir=base / "tfstate", env={"TF_WORKSPACE": workspace})
        return tf.output()
    out = subprocess.run(
        ["terraform", f"-chdir={ROOT / 'terraform'}", "output", "-json"],
        env={**os.environ, "TF_WORKSPACE": workspace},
        check=True,
        capture_output=True,
        text=True,
    )
    return {k: v["value"] for k, v in json.loads(out.stdout).items()}


def from_terraform(target: str) -> StackInfo:
    """A deployed stage (AWS or LocalStack) described by its Terraform outputs."""
    workspace = os.environ.get("E2E_WORKSPACE", "localstack" if target == "localstack" else "dev")
    outputs = _terraform_outputs(target, workspace)
    from embedded_stack.stack_info import stack_document  # the same reading of the outputs as stack.json

    partners = stack_document(outputs, outputs["api_url"], "")["partners"]
    endpoint = None
    api_url = os.environ.get("E2E_API_URL") or outputs["api_url"]
    if target == "localstack":
        endpoint = os.environ.get("LOCALSTACK_ENDPOINT", "http://localhost:4566")
        if not os.environ.get("E2E_API_URL"):
            # LocalStack serves every stage under this path form without DNS tricks.
            api_url = (
                f"{endpoint}/restapis/{outputs['rest_api_id']}/{outputs['api_stage_name']}/_user_request_"
            )
    document = {
        "api_url": api_url,
        "aws_endpoint_url": endpoint,
        "region": outputs.get("region", "us-east-1"),
        "stage": outputs.get("stage", workspace),
        "table_name": outputs.get("table_name"),
        "audit_bucket": outputs.get("audit_bucket"),
        "audit_failure_bucket": outputs.get("audit_failure_bucket"),
        "dlq_urls": outputs.get("dlq_urls") or {},
        "cursor_secret_id": outputs.get("cursor_secret_id"),
        "partners": partners,
    }
    # LocalStack's free edition enforces API keys but not usage-plan throttles or quotas.
    return from_stack_json(document, target, enforces=target != "localstack")
