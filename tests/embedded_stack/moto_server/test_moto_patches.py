"""Against the patched moto server over HTTP: the patches fail loudly when moto's internals change, and
serve exactly the deployed code."""

from __future__ import annotations

import base64
import hashlib

import pytest
import requests

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


BROWSER_REQUESTS = [
    # A CORS preflight, as a page's fetch() of the DynamoDB API would send first.
    (
        "OPTIONS",
        "/",
        {"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
        None,
    ),
    # What the page would send next: Scan the table (keys and data are in there).
    (
        "POST",
        "/",
        {
            "Origin": "https://evil.example",
            "X-Amz-Target": "DynamoDB_20120810.ListTables",
            "Content-Type": "application/x-amz-json-1.0",
        },
        b"{}",
    ),
    # The API keys (values included) through API Gateway's control plane.
    ("GET", "/apikeys?includeValues=true", {"Origin": "https://evil.example"}, None),
    # A form POST or an <img> needs no CORS to be sent: a query-protocol write (SQS) without reading.
    (
        "POST",
        "/",
        {"Origin": "null", "Content-Type": "application/x-www-form-urlencoded"},
        b"Action=ListQueues",
    ),
    ("GET", "/?Action=ListQueues", {"Sec-Fetch-Mode": "no-cors", "Sec-Fetch-Site": "cross-site"}, None),
]


@pytest.mark.parametrize(("method", "path", "headers", "body"), BROWSER_REQUESTS)
def test_a_web_page_can_neither_read_nor_drive_the_control_plane(moto_server, method, path, headers, body):
    """moto's server allows CORS from every origin (flask-cors): during `make run` any web page could
    read the partners' keys and data. The control plane serves SDKs only: browsers are refused."""
    auth = {"Authorization": "AWS4-HMAC-SHA256 Credential=testing/20260101/us-east-1/dynamodb/aws4_request"}
    response = requests.request(
        method, f"{moto_server.endpoint_url}{path}", headers={**auth, **headers}, data=body, timeout=10
    )
    assert "Access-Control-Allow-Origin" not in response.headers
    assert response.status_code == 403
    assert response.json()["message"].startswith("Browser requests are refused")


def test_sdk_requests_still_work(aws):
    assert "TableNames" in aws("dynamodb").list_tables()
    assert aws("apigateway").get_api_keys()["items"] is not None
