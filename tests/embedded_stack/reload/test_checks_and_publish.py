"""The pieces of a hot reload against the patched moto server: the compile and import checks, the
runner noticing a redeploy at once, and the publisher doing what a terraform apply does."""

from __future__ import annotations

import base64
import hashlib
import uuid
from pathlib import Path

import pytest

from embedded_stack.lambda_runtime import Runner
from embedded_stack.reload.checks import compile_sources, import_check, with_code
from embedded_stack.reload.publish import Publisher, PublishError
from tests.embedded_stack.conftest import REGION, ROLE
from tests.embedded_stack.support import make_zip

HANDLER = "def handler(event, context):\n    return {'answer': %r}\n"


def test_compile_names_the_file_line_and_column_with_a_caret(tmp_path: Path, runner: Runner) -> None:
    good, bad = tmp_path / "functions/fn/good.py", tmp_path / "functions/fn/bad.py"
    good.parent.mkdir(parents=True)
    good.write_text("x = 1\n")
    bad.write_text("x = 1\nif x\n    pass\n")
    failures = compile_sources(runner.python, [good, bad, tmp_path / "gone.py"], tmp_path)
    assert list(failures) == [bad]
    failure = failures[bad]
    assert failure.where == "functions/fn/bad.py:2:5"
    assert failure.error_type == "SyntaxError"
    assert failure.detail == ("    if x", "        ^")


def test_the_import_check_is_the_functions_init_phase(tmp_path: Path, runner: Runner, deploy) -> None:
    name = deploy({"handler.py": HANDLER % "v1"}, env={"NEEDED": "yes"})
    deployed = runner.deployment(name)
    ok = tmp_path / "ok"
    ok.mkdir()
    (ok / "handler.py").write_text("import os\nVALUE = os.environ['NEEDED']\n" + HANDLER % "v2")
    assert import_check(runner, with_code(deployed, code_dir=ok, layer_paths=None)) is None
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "handler.py").write_text("import not_installed_anywhere\n" + HANDLER % "v2")
    failure = import_check(runner, with_code(deployed, code_dir=broken, layer_paths=None))
    assert failure is not None
    assert failure.error_type == "Runtime.ImportModuleError"
    assert "not_installed_anywhere" in failure.message
    shown = failure.shown("fn", {f"{broken}/": "functions/fn/"})
    assert any(line.startswith('  File "functions/fn/handler.py", line 1') for line in shown.detail)
    assert not any("importlib" in line for line in shown.detail)  # the runtime's own frames are cut
    missing = tmp_path / "missing"
    missing.mkdir()
    (missing / "handler.py").write_text("x = 1\n")  # no handler function: Runtime.HandlerNotFound
    failure = import_check(runner, with_code(deployed, code_dir=missing, layer_paths=None))
    assert failure is not None and failure.error_type == "Runtime.HandlerNotFound"


def test_the_runner_serves_a_moved_alias_on_the_very_next_invocation(
    moto_server, lambda_python: str, tmp_path: Path, aws, deploy
) -> None:
    # A TTL far longer than the test: only invalidate() can make the new version visible.
    runner = Runner(
        moto_server.endpoint_url,
        REGION,
        state_dir=tmp_path,
        python=lambda_python,
        console=None,
        config_ttl_s=600,
    )
    try:
        name = deploy({"handler.py": HANDLER % "v1"}, alias="live")
        assert runner.invoke(name, "live", {}).payload == {"answer": "v1"}
        lam = aws("lambda")
        lam.update_function_code(FunctionName=name, ZipFile=make_zip({"handler.py": HANDLER % "v2"}))
        version = lam.publish_version(FunctionName=name)["Version"]
        lam.update_alias(FunctionName=name, Name="live", FunctionVersion=version)
        assert runner.invoke(name, "live", {}).payload == {"answer": "v1"}  # still the cached version
        runner.invalidate(name)
        assert runner.invoke(name, "live", {}).payload == {"answer": "v2"}
    finally:
        runner.close()


@pytest.fixture
def artifacts(aws) -> str:
    """A versioned, KMS-encrypted bucket holding one tagged zip, as modules/artifacts uploads it."""
    s3, kms = aws("s3"), aws("kms")
    bucket = f"artifacts-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    key_id = kms.create_key()["KeyMetadata"]["Arn"]
    s3.put_object(
        Bucket=bucket,
        Key="functions/fn.zip",
        Body=make_zip({"handler.py": HANDLER % "v1"}),
        ServerSideEncryption="aws:kms",
        SSEKMSKeyId=key_id,
        Tagging="ManagedBy=terraform&Stage=test",
    )
    return bucket


def test_publishing_uploads_as_terraform_did_and_moves_the_alias(tmp_path: Path, aws, artifacts: str) -> None:
    s3, lam = aws("s3"), aws("lambda")
    name = f"published-{artifacts}"
    first = s3.head_object(Bucket=artifacts, Key="functions/fn.zip")
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=ROLE,
        Handler="handler.handler",
        Code={"S3Bucket": artifacts, "S3Key": "functions/fn.zip", "S3ObjectVersion": first["VersionId"]},
        Publish=True,
    )
    lam.create_alias(FunctionName=name, Name="live", FunctionVersion="1")
    publisher = Publisher(s3.meta.endpoint_url, REGION)
    new_zip = tmp_path / "fn.zip"
    new_zip.write_bytes(make_zip({"handler.py": HANDLER % "v2"}))
    sha = base64.b64encode(hashlib.sha256(new_zip.read_bytes()).digest()).decode()

    version = publisher.upload(artifacts, "functions/fn.zip", new_zip)
    head = s3.head_object(Bucket=artifacts, Key="functions/fn.zip")
    assert head["VersionId"] == version != first["VersionId"]
    assert (head["ServerSideEncryption"], head["SSEKMSKeyId"]) == (
        first["ServerSideEncryption"],
        first["SSEKMSKeyId"],
    )
    tags = s3.get_object_tagging(Bucket=artifacts, Key="functions/fn.zip")["TagSet"]
    assert {t["Key"]: t["Value"] for t in tags} == {"ManagedBy": "terraform", "Stage": "test"}

    published = publisher.publish_function(name, "live", code=(artifacts, "functions/fn.zip", version, sha))
    assert published.version != "1"
    alias = lam.get_alias(FunctionName=name, Name="live")
    assert alias["FunctionVersion"] == published.version
    live = lam.get_function_configuration(FunctionName=name, Qualifier="live")
    assert live["CodeSha256"] == sha

    with pytest.raises(PublishError, match="CodeSha256"):  # never publish code other than the checked one
        publisher.publish_function(
            name, "live", code=(artifacts, "functions/fn.zip", version, "bm90LXRoaXM=")
        )
    assert lam.get_alias(FunctionName=name, Name="live")["FunctionVersion"] == published.version
