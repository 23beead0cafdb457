"""One moto server, one build and one Terraform data dir per test session, shared by the terraform
tests and tests/test_manifests.py (cached at module level, so importing modules share them)."""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from scripts import tf
from scripts.build import build

ROOT = Path(__file__).resolve().parents[2]
TF_ROOT = ROOT / "terraform"
STAGES = ("dev", "staging", "prod", "local", "localstack")
REGION = "us-east-1"


def terraform_missing() -> str | None:
    """Why terraform tests cannot run here, or None."""
    try:
        tf.terraform_bin()
    except tf.TerraformError as exc:
        return str(exc)
    return None


@functools.cache
def session_dir() -> Path:
    path = Path(tempfile.mkdtemp(prefix="tf-tests-"))
    atexit.register(shutil.rmtree, path, True)
    return path


@functools.cache
def moto_url() -> str:
    """The embedded stack's moto (with its patches), so applies here meet what `make run` meets:
    raw moto denies every request under a TLS-only bucket policy (it reads Bool conditions as true)."""
    from embedded_stack.moto_server.server import start_moto

    server = start_moto(0)
    atexit.register(server.stop)
    return server.endpoint_url


@functools.cache
def artifacts(bundle_layer: bool = False) -> Path:
    return build("host", bundle_layer)


def artifact_args(stage: str) -> list[str]:
    return tf.var_args(artifacts(bundle_layer=stage == "localstack"))


@functools.cache
def tf_root() -> Path:
    """A private copy of the root module: its endpoint override never blocks `make run` or e2e runs."""
    return tf.private_root(session_dir())


def override() -> Any:
    return tf.endpoint_override(moto_url(), REGION, root=tf_root())


@functools.cache
def workspace() -> tf.Terraform:
    """An initialised root module with a workspace per stage (state in the session dir)."""
    runner = tf.Terraform(data_dir=session_dir() / "data", state_dir=session_dir() / "state", root=tf_root())
    with override():
        runner.init()
        for stage in STAGES:
            runner.select_workspace(stage)
    return runner


def in_stage(stage: str) -> tf.Terraform:
    """The shared runner with TF_WORKSPACE set, so stages can plan in parallel."""
    base = workspace()
    return tf.Terraform(
        data_dir=base.data_dir, state_dir=base.state_dir, root=base.root, env={"TF_WORKSPACE": stage}
    )


@functools.cache
def local_outputs() -> dict[str, Any]:
    """Apply the `local` stage against moto once per session; its outputs."""
    runner = in_stage("local")
    with override():
        runner.apply(*artifact_args("local"))
        return runner.output()


@functools.cache
def plans() -> dict[str, subprocess.CompletedProcess[str]]:
    """`terraform plan` of every stage (and `apply` in `default`) against moto, two at a time."""
    workspace()
    artifacts(False)
    artifacts(True)

    def plan(stage: str) -> subprocess.CompletedProcess[str]:
        if stage == "default":  # apply, not plan: proves that nothing gets created
            return in_stage(stage).run(
                "apply", "-auto-approve", "-input=false", "-no-color", *artifact_args("local"), check=False
            )
        return in_stage(stage).plan("-refresh=false", "-no-color", *artifact_args(stage), check=False)

    with override(), ThreadPoolExecutor(max_workers=2) as pool:
        stages = [s for s in STAGES if s != "local"] + ["default"]
        return dict(zip(stages, pool.map(plan, stages), strict=True))


def boto3_client(service: str) -> Any:
    import boto3

    return boto3.client(
        service,
        endpoint_url=moto_url(),
        region_name=REGION,
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def env_for_tools() -> dict[str, str]:
    return {**os.environ, "TF_IN_AUTOMATION": "1"}
