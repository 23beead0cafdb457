"""Against the patched moto server over HTTP: the patches fail loudly when moto's internals change, and
serve exactly the deployed code."""

from __future__ import annotations

import base64
import hashlib

import pytest

from embedded_stack.lambda_runtime import CodeCache, RunnerError
from embedded_stack.moto_server import patches as moto_patches
from tests.embedded_stack.support import make_zip


def test_stream_patch_refuses_an_unknown_moto(monkeypatch, moto_server):
    from moto.dynamodb.models import table as table_mod

    def add(self, old, new):  # what a future moto might look like
        return None

    monkeypatch.setattr(table_mod.StreamShard, "add", add)
    with pytest.raises(moto_patches.MotoPatchError, match=r"StreamShard\.add"):
        moto_patches._patch_stream_shard()


def test_code_location_serves_the_deployed_bytes_and_the_cache_checks_them(aws, deploy, tmp_path):
    name = deploy({"handler.py": "def handler(e, c):\n    return 1\n"})
    fn = aws("lambda").get_function(FunctionName=name)
    location, sha = fn["Code"]["Location"], fn["Configuration"]["CodeSha256"]
    assert location.startswith(moto_patches._endpoint_url)
    cache = CodeCache(tmp_path / "code")
    extracted = cache.extract(location, sha)
    assert (extracted / "handler.py").read_text().startswith("def handler")
    wrong = base64.b64encode(hashlib.sha256(b"something else").digest()).decode()
    with pytest.raises(RunnerError, match="CodeSha256"):
        cache.extract(location, wrong)


def test_layer_location_is_served_too(aws):
    lam = aws("lambda")
    published = lam.publish_layer_version(
        LayerName="patch-test", Content={"ZipFile": make_zip({"python/x.py": ""})}
    )
    content = lam.get_layer_version(LayerName="patch-test", VersionNumber=published["Version"])["Content"]
    assert content["Location"].startswith(moto_patches._endpoint_url)
    assert content["CodeSha256"] == published["Content"]["CodeSha256"]


def test_a_redrive_policy_reads_back_as_compact_json_as_sqs_returns_it(aws):
    import json

    sqs = aws("sqs")
    dlq = sqs.create_queue(QueueName="redrive-format-dlq")["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    policy = json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": 14}, separators=(",", ":"))
    url = sqs.create_queue(QueueName="redrive-format", Attributes={"RedrivePolicy": policy})["QueueUrl"]
    got = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["RedrivePolicy"])["Attributes"]
    assert got["RedrivePolicy"] == policy  # what Terraform's jsonencode wrote: no perpetual diff
