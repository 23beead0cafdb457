"""Fast restart end to end (over processes, `python -m embedded_stack` as `make run` runs it), in one
private state dir: a run killed mid-apply, then a run that must start fresh and say so, then a restart
with nothing changed that must keep items, keys, audit objects and queue contents, skip Terraform and
leave `terraform plan` with nothing to do, then a restart after a change, which `terraform apply`
converges on the restored state. One apply from nothing in all, so the steps share fixtures. The
plan and the restart after a change run Terraform again and only with LOOP_E2E=1 (`make test-loop`).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

ROOT = Path(__file__).resolve().parents[2]
READY_TIMEOUT_S = 900  # a full apply, possibly queued behind other applies on a shared machine

pytestmark = [
    pytest.mark.slow,
    pytest.mark.terraform,
    pytest.mark.skipif(
        shutil.which("terraform") is None and not os.environ.get("TERRAFORM"),
        reason="RESTART TESTS SKIPPED: terraform is not on PATH (they deploy the local workspace)",
    ),
]


full_loop = pytest.mark.skipif(
    os.environ.get("LOOP_E2E") != "1",
    reason="RESTART CASE SKIPPED: runs terraform again (minutes); `make test-loop` runs it",
)


@dataclass
class Run:
    """One `python -m embedded_stack` in its own process group, its console in a file."""

    proc: subprocess.Popen[bytes]
    log: Path
    ready_file: Path
    started: float

    def console(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_ready(self) -> dict:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not self.ready_file.exists():
            assert self.proc.poll() is None, f"the stack exited:\n{self.console()[-4000:]}"
            assert time.monotonic() < deadline, f"not ready in time:\n{self.console()[-4000:]}"
            time.sleep(0.2)
        return json.loads(self.ready_file.read_text())

    def interrupt(self) -> None:
        """Ctrl-C, as a user stops `make run`; the stack saves its state on the way out."""
        os.killpg(self.proc.pid, signal.SIGINT)
        assert self.proc.wait(timeout=120) == 0, self.console()[-4000:]

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(timeout=30)


def _start(base: Path, name: str, *args: str) -> Run:
    env = {
        **os.environ,
        "EMBEDDED_STATE_DIR": str(base / "state"),
        "EMBEDDED_API_PORT": "0",
        "EMBEDDED_AWS_PORT": "0",
        "PYTHONUNBUFFERED": "1",
    }
    ready = base / f"{name}.ready.json"
    log = base / f"{name}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "embedded_stack", "--ready-file", str(ready), *args],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return Run(proc=proc, log=log, ready_file=ready, started=time.monotonic())


def _request(method: str, url: str, key: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    headers = {"content-type": "application/json", "x-api-key": key}
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


def _client(info: dict, service: str):
    return boto3.client(
        service,
        endpoint_url=info["aws_endpoint_url"],
        region_name=info["region"],
        aws_access_key_id="x",
        aws_secret_access_key="x",
    )


def _audit_objects(info: dict) -> dict[str, bytes]:
    s3 = _client(info, "s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=info["audit_bucket"]).get("Contents", [])]
    return {k: s3.get_object(Bucket=info["audit_bucket"], Key=k)["Body"].read() for k in keys}


def _audit_with(info: dict, item_id: str) -> dict[str, bytes]:
    """The audit objects, once one of them holds ``item_id``'s event (DynamoDB -> stream -> S3)."""
    deadline = time.monotonic() + 120
    while True:
        audit = _audit_objects(info)
        if any(item_id.encode() in body for body in audit.values()):
            return audit
        assert time.monotonic() < deadline, f"the audit event of {item_id} never reached S3"
        time.sleep(0.5)


def _events(audit: dict[str, bytes]) -> list[dict]:
    """Every audit event in the objects (NDJSON)."""
    return [json.loads(line) for body in audit.values() for line in body.splitlines() if line.strip()]


def _queued(info: dict, url: str) -> int:
    attrs = _client(info, "sqs").get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
    )
    return int(attrs["Attributes"]["ApproximateNumberOfMessages"])


def _applying(group: int) -> bool:
    """Whether a `terraform apply` runs in the process group (the stack's child)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            argv = (entry / "cmdline").read_bytes().split(b"\0")
            if (
                os.getpgid(int(entry.name)) == group
                and b"apply" in argv
                and any(b"terraform" in a for a in argv)
            ):
                return True
        except (OSError, ProcessLookupError):
            continue
    return False


@dataclass
class Before:
    """What the first full run held when it was stopped."""

    info: dict
    item: dict
    audit: dict[str, bytes]
    dlq_url: str
    console: str


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("restart")


@pytest.fixture(scope="module")
def killed_then_fresh(base: Path) -> Iterator[tuple[Run, dict]]:
    """A run SIGKILLed while `terraform apply` runs, then a plain run on the same state dir."""
    killed = _start(base, "killed")
    deadline = time.monotonic() + READY_TIMEOUT_S
    while not _applying(killed.proc.pid):
        assert killed.proc.poll() is None, killed.console()[-4000:]
        assert time.monotonic() < deadline, "terraform apply never started"
        time.sleep(0.1)
    time.sleep(5)  # let it create some resources
    assert _applying(killed.proc.pid), "the apply ended before it could be killed"
    killed.kill()  # mid-apply: some resources exist in (the now dead) moto only
    assert not killed.ready_file.exists()
    run = _start(base, "fresh")
    try:
        yield run, run.wait_ready()
    finally:
        if run.proc.poll() is None:
            run.kill()


def test_a_run_killed_mid_apply_is_followed_by_a_fresh_start_that_says_so(killed_then_fresh):
    run, info = killed_then_fresh
    console = run.console()
    assert "did not stop cleanly (killed or crashed)" in console and "starting fresh" in console, console
    key = next(iter(info["partners"].values()))["api_key"]
    status, created = _request("POST", f"{info['api_url']}/items", key, {"userId": "u1", "name": "kept"})
    assert status == 201, created
    status, fetched = _request("GET", f"{info['api_url']}/items/{created['id']}", key)
    assert (status, fetched) == (200, created)


@pytest.fixture(scope="module")
def before(killed_then_fresh, base: Path) -> Before:
    """The fresh run with an item (and its audit object) and a message in a DLQ, stopped with Ctrl-C."""
    run, info = killed_then_fresh
    key = next(iter(info["partners"].values()))["api_key"]
    status, item = _request(
        "POST", f"{info['api_url']}/items", key, {"userId": "u2", "name": "before restart"}
    )
    assert status == 201, item
    audit = _audit_with(info, item["id"])
    dlq_url = next(iter(info["dlq_urls"].values()))
    _client(info, "sqs").send_message(QueueUrl=dlq_url, MessageBody='{"kept": "across the restart"}')
    run.interrupt()
    console = run.console()
    assert "State saved to" in console, console[-3000:]
    assert not (base / "state" / "run.json").exists()
    return Before(info=info, item=item, audit=audit, dlq_url=dlq_url, console=console)


@pytest.fixture(scope="module")
def restarted(before: Before, base: Path) -> Iterator[tuple[Run, dict]]:
    run = _start(base, "restart")
    try:
        yield run, run.wait_ready()
    finally:
        if run.proc.poll() is None:
            run.interrupt()


def test_a_restart_with_nothing_changed_keeps_items_keys_audit_and_queues(before: Before, restarted):
    run, info = restarted
    console = run.console()
    assert "nothing changed: terraform apply skipped" in console, console
    assert "Apply complete" not in console
    assert info["partners"] == before.info["partners"]  # the same keys, ids and plans
    assert info["aws_endpoint_url"] == before.info["aws_endpoint_url"]  # queue URLs stay true
    key = next(iter(info["partners"].values()))["api_key"]
    status, fetched = _request("GET", f"{info['api_url']}/items/{before.item['id']}", key)
    assert (status, fetched) == (200, before.item)
    assert _queued(info, before.dlq_url) == 1
    # Stream pollers resume after their checkpoint: nothing delivered twice, the next write delivered.
    status, after = _request(
        "POST", f"{info['api_url']}/items", key, {"userId": "u2", "name": "after restart"}
    )
    assert status == 201, after
    audit = _audit_with(info, after["id"])
    assert {k: v for k, v in audit.items() if k in before.audit} == before.audit
    events = _events(audit)
    assert len({e["eventId"] for e in events}) == len(events), "an event was delivered twice"
    # Each start's scheduled audit canary writes a heartbeat (audited too); of items, only the new one.
    seen = {e["eventId"] for e in _events(before.audit)}
    new = [(e["itemId"], e["eventName"]) for e in events if e["eventId"] not in seen and not e.get("canary")]
    assert new == [(after["id"], "INSERT")], new


@full_loop
def test_terraform_plan_against_a_restarted_stack_shows_no_changes(restarted, base: Path):
    from embedded_stack.lambda_runtime import ensure_runtime
    from scripts import tf
    from scripts.build import artifact_dir

    _, info = restarted
    _, is_lambda_runtime = ensure_runtime()  # the stack built for this target
    target = "lambda" if is_lambda_runtime else "host"
    runner = tf.Terraform(data_dir=base / "state" / "tfdata", state_dir=base / "state" / "tfstate")
    with tf.endpoint_override(info["aws_endpoint_url"], info["region"]):
        plan = runner.plan("-detailed-exitcode", *tf.var_args(artifact_dir(target)), check=False)
    assert plan.returncode == 0, plan.stdout[-4000:] + plan.stderr[-2000:]
    assert "No changes." in plan.stdout


@full_loop
def test_a_restart_after_a_change_keeps_the_data_and_terraform_apply_converges(
    restarted, before: Before, base
):
    """The saved fingerprint says `functions` changed: the state is restored and applied on, not wiped."""
    run, _ = restarted
    run.interrupt()
    path = base / "state" / "snapshot.zip"
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members["manifest.json"])
    manifest["fingerprint"]["functions"] = "0" * 64  # as if a handler had been edited since
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    changed = _start(base, "changed")
    try:
        info = changed.wait_ready()
        assert "changed since: functions: terraform apply converges it" in changed.console()
        assert info["partners"] == before.info["partners"]
        key = next(iter(info["partners"].values()))["api_key"]
        status, fetched = _request("GET", f"{info['api_url']}/items/{before.item['id']}", key)
        assert (status, fetched) == (200, before.item)
        assert _queued(info, before.dlq_url) == 1
    finally:
        changed.interrupt()
    saved = json.loads(zipfile.ZipFile(path).read("manifest.json"))
    assert saved["fingerprint"]["functions"] != "0" * 64  # what was just applied
