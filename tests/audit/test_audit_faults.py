"""Fault injection on a real moto server: throttle, partial failures, poison records, crash mid-batch."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from audit_helpers import BUCKET, PREFIX, REGION, STREAM
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from embedded_stack.moto_server import faults


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    already = hasattr(
        __import__("moto.firehose.models").firehose.models.FirehoseBackend.put_record_batch, "__wrapped__"
    )
    faults.install()
    faults.install()  # idempotent
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    moto.start()
    host, port = moto.get_host_and_port()
    yield f"http://{host}:{port}"
    moto.stop()
    if not already:
        faults.uninstall()


@pytest.fixture
def spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "faults.json"
    monkeypatch.setenv("EMBEDDED_FAULTS_FILE", str(path))
    return path


@pytest.fixture
def fh(server: str, spec: Path) -> Any:
    kwargs = {"endpoint_url": server, "region_name": REGION, "config": Config(retries={"max_attempts": 1})}
    s3 = boto3.client("s3", **kwargs)
    firehose = boto3.client("firehose", **kwargs)
    if BUCKET not in [b["Name"] for b in s3.list_buckets()["Buckets"]]:
        s3.create_bucket(Bucket=BUCKET)
        firehose.create_delivery_stream(
            DeliveryStreamName=STREAM,
            ExtendedS3DestinationConfiguration={
                "RoleARN": "arn:aws:iam::123456789012:role/firehose",
                "BucketARN": f"arn:aws:s3:::{BUCKET}",
                "Prefix": PREFIX,
            },
        )
    for obj in s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        s3.delete_object(Bucket=BUCKET, Key=obj["Key"])
    firehose.s3 = s3
    return firehose


def put(fh: Any, *lines: str) -> dict[str, Any]:
    return fh.put_record_batch(
        DeliveryStreamName=STREAM, Records=[{"Data": f"{x}\n".encode()} for x in lines]
    )


def stored(fh: Any) -> list[str]:
    lines = []
    for obj in fh.s3.list_objects_v2(Bucket=BUCKET).get("Contents", []):
        lines += fh.s3.get_object(Bucket=BUCKET, Key=obj["Key"])["Body"].read().decode().split()
    return sorted(lines)


def test_no_spec_no_faults(fh: Any) -> None:
    assert put(fh, "a", "b")["FailedPutCount"] == 0
    assert stored(fh) == ["a", "b"]


def test_throttle_for_some_calls_then_recovers(fh: Any, spec: Path) -> None:
    faults.write({"throttle": {"calls": 2}})
    for _ in range(2):
        with pytest.raises(ClientError) as raised:
            put(fh, "a")
        assert raised.value.response["Error"]["Code"] == "ServiceUnavailableException"
    assert put(fh, "a")["FailedPutCount"] == 0
    assert stored(fh) == ["a"]
    assert faults.fired() == {"throttle": 2}


def test_throttle_until_a_time(fh: Any, spec: Path) -> None:
    faults.write({"throttle": {"until": time.time() + 0.5}})
    with pytest.raises(ClientError):
        put(fh, "a")
    deadline = time.monotonic() + 5
    while True:
        try:
            put(fh, "a")
            break
        except ClientError:
            assert time.monotonic() < deadline
            time.sleep(0.05)
    assert stored(fh) == ["a"]


def test_partial_failures_name_the_records(fh: Any, spec: Path) -> None:
    faults.write({"partial": {"calls": 1, "every": 2}})
    response = put(fh, "r0", "r1", "r2", "r3")
    assert response["FailedPutCount"] == 2
    codes = [r.get("ErrorCode") for r in response["RequestResponses"]]
    assert codes == ["ServiceUnavailableException", None, "ServiceUnavailableException", None]
    assert all("RecordId" in r for r in response["RequestResponses"] if "ErrorCode" not in r)
    assert stored(fh) == ["r1", "r3"]
    assert put(fh, "r0", "r2")["FailedPutCount"] == 0  # only one call was hit


def test_poison_is_rejected_every_time(fh: Any, spec: Path) -> None:
    faults.write({"poison": ["POISON"]})
    for _ in range(3):
        response = put(fh, "ok", "xPOISONx")
        assert response["FailedPutCount"] == 1
        assert response["RequestResponses"][1]["ErrorCode"] == "InvalidArgumentException"
    assert stored(fh) == ["ok", "ok", "ok"]
    assert faults.fired()["poison"] == 3


def test_crash_after_n_records_stores_a_prefix_then_fails(fh: Any, spec: Path) -> None:
    faults.write({"crash": {"after_records": 3, "times": 1}})
    assert put(fh, "a", "b")["FailedPutCount"] == 0
    with pytest.raises(ClientError):
        put(fh, "c", "d", "e")  # "c" is the 3rd record: stored; then the call fails
    assert stored(fh) == ["a", "b", "c"]
    assert put(fh, "c", "d", "e")["FailedPutCount"] == 0  # the retry duplicates "c"
    assert stored(fh) == ["a", "b", "c", "c", "d", "e"]


def test_rewriting_the_spec_resets_counters_and_clear_stops_faults(fh: Any, spec: Path) -> None:
    faults.write({"throttle": {"calls": 1}})
    with pytest.raises(ClientError):
        put(fh, "a")
    faults.write({"throttle": {"calls": 1}})
    with pytest.raises(ClientError):
        put(fh, "a")
    faults.clear()
    assert put(fh, "a")["FailedPutCount"] == 0


def test_a_broken_spec_injects_nothing(fh: Any, spec: Path) -> None:
    spec.write_text("{not json")
    assert put(fh, "a")["FailedPutCount"] == 0
    with pytest.raises(faults.FaultSpecError):
        faults.write({"explode": True})
    assert json.loads(json.dumps(faults.fired())) == {}
