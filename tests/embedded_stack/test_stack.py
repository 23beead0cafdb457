"""`python -m embedded_stack`: unit tests of the stack.json document and the banner, and (over processes)
a full start/serve/stop of the stack in a child process."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest

from embedded_stack.stack_info import banner, stack_document

ROOT = Path(__file__).resolve().parents[2]

OUTPUTS = {
    "stage": "local",
    "region": "us-east-1",
    "table_name": "items-local-items",
    "audit_bucket": "items-local-audit",
    "audit_failure_bucket": "items-local-audit-fail",
    "dlq_urls": {
        "items-local-audit_canary-dlq": "http://127.0.0.1:4566/123456789012/items-local-audit_canary-dlq"
    },
    "cursor_secret_id": "arn:aws:secretsmanager:us-east-1:123456789012:secret:items-local/cursor-key-AbCdEf",
    "partners": {
        "partner-a": {
            "api_key_id": "abc123",
            "usage_plan": "generous",
            "usage_plan_id": "p1",
            "throttle": {"rate_limit": 1000, "burst_limit": 2000},
            "quota": {"limit": 1000000, "period": "DAY"},
            "keys": {
                "analytics": {"api_key_id": "ro999", "scope": "read-only"},
                "primary": {"api_key_id": "abc123", "scope": "read-write"},
                "rotated": {"api_key_id": "rw777", "scope": "read-write"},
            },
        },
        "partner-throttled": {
            "api_key_id": "def456",
            "usage_plan": "tight",
            "usage_plan_id": "p2",
            "throttle": {"rate_limit": 1, "burst_limit": 2},
            "quota": {"limit": 100, "period": "DAY"},
            "keys": {"primary": {"api_key_id": "def456", "scope": "read-write"}},
        },
    },
    "api_key_values": {
        "partner-a": {"analytics": "key-a-ro", "primary": "key-a", "rotated": "key-a-2"},
        "partner-throttled": {"primary": "key-t"},
    },
    "api_url": "https://abc.execute-api.us-east-1.amazonaws.com/local",
}


def test_stack_document_follows_the_issue_contract():
    doc = stack_document(OUTPUTS, "http://127.0.0.1:8080/local", "http://127.0.0.1:4566")
    assert set(doc) == {
        "api_url",
        "aws_endpoint_url",
        "region",
        "stage",
        "table_name",
        "audit_bucket",
        "audit_failure_bucket",
        "dlq_urls",
        "event_queues",
        "cursor_secret_id",
        "partners",
    }
    assert doc["api_url"] == "http://127.0.0.1:8080/local"  # the gateway's, not AWS's
    assert doc["aws_endpoint_url"] == "http://127.0.0.1:4566"
    assert doc["dlq_urls"] == OUTPUTS["dlq_urls"]
    assert doc["cursor_secret_id"] == OUTPUTS["cursor_secret_id"]
    assert doc["partners"]["partner-throttled"] == {
        "api_key": "key-t",
        "api_key_id": "def456",
        "usage_plan": "tight",
        "throttle": {"rate_limit": 1, "burst_limit": 2},
        "quota": {"limit": 100, "period": "DAY"},
        "keys": [{"name": "primary", "api_key": "key-t", "api_key_id": "def456", "scope": "read-write"}],
    }


def test_each_partner_keeps_its_first_read_write_key_and_lists_every_key():
    partner = stack_document(OUTPUTS, "http://x/local", "http://y")["partners"]["partner-a"]
    assert (partner["api_key"], partner["api_key_id"]) == ("key-a", "abc123")
    assert partner["keys"] == [
        {"name": "analytics", "api_key": "key-a-ro", "api_key_id": "ro999", "scope": "read-only"},
        {"name": "primary", "api_key": "key-a", "api_key_id": "abc123", "scope": "read-write"},
        {"name": "rotated", "api_key": "key-a-2", "api_key_id": "rw777", "scope": "read-write"},
    ]


def test_banner_has_url_keys_plans_and_a_working_curl_shape():
    from embedded_stack.stack import StackHandle

    doc = stack_document(OUTPUTS, "http://127.0.0.1:8080/local", "http://127.0.0.1:4566")
    handle = StackHandle(info=doc, moto=None, runner=None, pollers=None, gateway=None)
    text = banner(handle)
    assert "http://127.0.0.1:8080/local" in text
    assert "key-a" in text and "key-t" in text
    assert "key-a-ro" in text and "read-only" in text and "key-a-2" in text
    assert "tight" in text and "generous" in text
    assert "curl -s -X POST http://127.0.0.1:8080/local/items -H 'x-api-key: key-a'" in text


def _processes_mentioning(marker: str) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if marker in cmdline and "worker.py" in cmdline:
            found.append(int(entry.name))
    return found


def _request(method: str, url: str, key: str | None = None, body: dict | None = None) -> tuple[int, dict]:
    headers = {"content-type": "application/json"}
    if key:
        headers["x-api-key"] = key
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(url, data=data, headers=headers, method=method)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"null")


@pytest.mark.slow
@pytest.mark.terraform
def test_make_run_serves_streams_and_stops_everything_on_sigint(tmp_path):
    state = tmp_path / "state"
    ready = tmp_path / "ready.json"
    env = {
        **os.environ,
        "EMBEDDED_STATE_DIR": str(state),
        "EMBEDDED_API_PORT": "0",
        "EMBEDDED_AWS_PORT": "0",
        "PYTHONUNBUFFERED": "1",
    }
    log = (tmp_path / "stack.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "embedded_stack", "--ready-file", str(ready)],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 900  # terraform apply, possibly queued behind other applies
        while not ready.exists():
            assert proc.poll() is None, (tmp_path / "stack.log").read_text()[-4000:]
            assert time.monotonic() < deadline, "not ready in time"
            time.sleep(0.5)
        info = json.loads(ready.read_text())
        assert json.loads((state / "stack.json").read_text()) == info
        assert info["stage"] == "local" and info["api_url"].endswith("/local")
        assert len(info["partners"]) >= 2
        assert any(p["throttle"]["burst_limit"] <= 5 for p in info["partners"].values())
        key = next(iter(info["partners"].values()))["api_key"]

        status, body = _request("GET", f"{info['api_url']}/items?userId=u1")
        assert (status, body) == (
            401,
            {"message": "Unauthorized"},
        )  # no identity source: the authorizer's 401
        status, created = _request("POST", f"{info['api_url']}/items", key, {"userId": "u1", "name": "n"})
        assert status == 201, created
        status, fetched = _request("GET", f"{info['api_url']}/items/{created['id']}", key)
        assert (status, fetched["id"]) == (200, created["id"])

        # The write travels DynamoDB -> stream poller -> audit function -> Firehose -> S3.
        s3 = boto3.client(
            "s3",
            endpoint_url=info["aws_endpoint_url"],
            region_name=info["region"],
            aws_access_key_id="x",
            aws_secret_access_key="x",
        )
        deadline = time.monotonic() + 60
        while True:
            keys = [o["Key"] for o in s3.list_objects_v2(Bucket=info["audit_bucket"]).get("Contents", [])]
            bodies = [s3.get_object(Bucket=info["audit_bucket"], Key=k)["Body"].read() for k in keys]
            if any(created["id"].encode() in b for b in bodies):
                break
            assert time.monotonic() < deadline, "the audit event never reached S3"
            time.sleep(0.5)

        workers = _processes_mentioning(str(state))
        assert workers, "expected warm workers while serving"
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=60) == 0
        for pid in workers:
            with pytest.raises(ProcessLookupError):
                os.kill(pid, 0)
        assert _processes_mentioning(str(state)) == []
        assert not ready.exists()
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()


def test_a_busy_api_port_fails_fast_before_terraform(tmp_path):
    import socket

    from embedded_stack.stack import start_stack

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(SystemExit, match=f"port {port}"):
            start_stack(api_port=port, state_dir=tmp_path, console=None)
        assert time.monotonic() - started < 5
