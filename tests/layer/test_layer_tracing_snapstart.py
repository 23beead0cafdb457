"""apikit.tracing (one seam, chosen by APIKIT_TRACING) and apikit.snapstart (what restored copies of a
SnapStart snapshot must not share). Each case runs in a fresh interpreter: both act at import, once
per container, as in Lambda."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _run(code: str, **env: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**os.environ, "PYTHONPATH": f"{ROOT / 'shared'}", "AWS_REGION": "us-east-1", **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


TRACING = """
    import json, sys
    import botocore.client
    import apikit.tracing as t
    print(json.dumps({"sdk": t.SDK, "xray_loaded": "aws_xray_sdk" in sys.modules,
                      "botocore_patched": type(botocore.client.BaseClient.__dict__["_make_api_call"]).__name__
                      == "FunctionWrapper"}))
"""


def test_xray_is_the_default_and_patches_botocore() -> None:
    out = _run(TRACING, APIKIT_TRACING="")
    assert out == {"sdk": "xray", "xray_loaded": True, "botocore_patched": True}


def test_otel_leaves_tracing_to_the_adot_layer_and_never_loads_the_xray_sdk() -> None:
    out = _run(TRACING, APIKIT_TRACING="otel")
    assert out == {"sdk": "otel", "xray_loaded": False, "botocore_patched": False}


def test_an_unknown_tracing_sdk_fails_the_init_naming_it() -> None:
    done = subprocess.run(
        [sys.executable, "-c", "import apikit.tracing"],
        env={**os.environ, "PYTHONPATH": str(ROOT / "shared"), "APIKIT_TRACING": "zipkin"},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "APIKIT_TRACING='zipkin': expected one of xray, otel, none" in done.stderr


# A container that Lambda initialises, snapshots, and restores twice (two forks of the snapshot):
# the runtime runs the before-snapshot hooks, then each restored copy runs the after-restore hooks.
SNAPSHOT = """
    import json, os, random
    import snapshot_restore_py as runtime
    from moto import mock_aws
    import boto3

    with mock_aws():
        secrets = boto3.client("secretsmanager", region_name="us-east-1")
        secrets.create_secret(Name="test-cursor", SecretString="k1")
        from apikit import clients, cursor, items, usage  # noqa: F401 - their import registers hooks
        for func, args, kwargs in runtime.get_before_snapshot():
            func(*args, **kwargs)
        snapshot_client = clients.client("dynamodb")
        snapshot_loader = clients._session().get_component("data_loader")
        cursor._keys.current()  # the key cached before the snapshot
        usage._cached(("plan", "p1"), 300, lambda: "before")  # a usage answer cached before it
        secrets.put_secret_value(SecretId="test-cursor", SecretString="k2")  # a rotation

        state = random.getstate()  # in the snapshot's memory
        copies = []
        for _ in range(2):
            read, write = os.pipe()
            if os.fork() == 0:
                random.setstate(state)  # a restore copies memory (a fork would reseed random itself)
                if RESTORE:
                    for func, args, kwargs in runtime.get_after_restore():
                        func(*args, **kwargs)
                os.write(write, json.dumps({
                    "draws": [random.random() for _ in range(3)],
                    "new_client": clients.client("dynamodb") is not snapshot_client,
                    "same_loader": clients._session().get_component("data_loader") is snapshot_loader,
                    "key": cursor._keys.current().secret.decode(),
                    "plan": usage._cached(("plan", "p1"), 300, lambda: "after"),
                }).encode())
                os._exit(0)
            os.close(write)
            copies.append(json.loads(os.read(read, 65536)))
            os.wait()
        print(json.dumps({"preloaded": sorted(a[0] for f, a, k in runtime.get_before_snapshot()),
                          "copies": copies}))
"""


def _snapshot(restore: bool) -> dict:
    return _run(
        f"RESTORE = {restore}\n" + textwrap.dedent(SNAPSHOT),
        CURSOR_SECRET_ID="test-cursor",
        AWS_ACCESS_KEY_ID="test",
        AWS_SECRET_ACCESS_KEY="test",
        AWS_DEFAULT_REGION="us-east-1",
    )


def test_without_the_hooks_restored_copies_would_share_random_state_clients_and_the_key() -> None:
    """The failure the hooks exist for: copies of one snapshot draw the same numbers."""
    copies = _snapshot(restore=False)["copies"]
    assert copies[0]["draws"] == copies[1]["draws"]
    assert not copies[0]["new_client"] and copies[0]["key"] == "k1" and copies[0]["plan"] == "before"


def test_restored_copies_reseed_random_renew_clients_and_reread_the_cursor_key() -> None:
    out = _snapshot(restore=True)
    first, second = out["copies"]
    assert first["draws"] != second["draws"], "retry jitter must differ between restored copies"
    assert first["new_client"] and second["new_client"], "no connection or credentials from the snapshot"
    assert first["same_loader"], "the service models parsed before the snapshot are kept"
    assert first["key"] == second["key"] == "k2", "the cursor key is read again after a restore"
    assert first["plan"] == second["plan"] == "after", "GET /usage's cache starts empty in every copy"
    preloaded = ["apigateway", "dynamodb", "secretsmanager"]
    assert out["preloaded"] == preloaded, "imported modules' clients are preloaded"
