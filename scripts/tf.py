"""Run the root Terraform module with isolated state, optionally against a local AWS endpoint.

Used by the embedded stack, the tests and the deploy scripts. Each caller passes its own TF_DATA_DIR
and state directory, so `make run`, the tests and a user's AWS deploys never share state. Local
endpoints come from an override file (as tflocal generates), never from edits to the modules; the
file lives in the shared root module, so it is written and removed under an exclusive lock.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TF_ROOT = ROOT / "terraform"
OVERRIDE_FILE = TF_ROOT / "zz_local_override.tf.json"
LOCK_FILE = ROOT / ".local" / "terraform.lock"
PLUGIN_SEARCH_ROOTS = ("/opt", "/usr/local/share", "/usr/share", str(Path.home() / ".terraform.d"))

# Every service the root module talks to; each gets the local endpoint.
SERVICES = (
    "acm",
    "apigateway",
    "applicationautoscaling",
    "cloudwatch",
    "dynamodb",
    "events",
    "firehose",
    "iam",
    "kms",
    "lambda",
    "logs",
    "s3",
    "secretsmanager",
    "sns",
    "sqs",
    "ssm",
    "sts",
    "xray",
)


# Concurrent resource operations for applies against an emulator. Terraform's default of 10 is
# taken up by resources that only wait (SQS attribute settling ~25 s, KMS ~12 s), so the KMS key
# that half the graph waits on started late; 32 keeps every independent branch moving. An emulator
# on loopback has no API rate limits to respect (AWS deploys keep Terraform's default).
EMULATOR_PARALLELISM = 32


class TerraformError(RuntimeError):
    """A terraform command failed; the message carries its output."""


def terraform_bin() -> str:
    """The terraform executable (env TERRAFORM overrides PATH)."""
    found = os.environ.get("TERRAFORM") or shutil.which("terraform")
    if not found:
        raise TerraformError("terraform is not on PATH (install Terraform >= 1.11 or set TERRAFORM)")
    return found


def plugin_dir() -> str | None:
    """TF_PLUGIN_DIR, else a filesystem mirror holding hashicorp/aws (offline machines), else None."""
    env = os.environ.get("TF_PLUGIN_DIR")
    if env:
        return env
    for root in PLUGIN_SEARCH_ROOTS:
        base = Path(root)
        if not base.is_dir():
            continue
        for depth in ("*", "*/*"):
            for hit in base.glob(f"{depth}/registry.terraform.io/hashicorp/aws"):
                return str(hit.parent.parent.parent)
    return None


def override_document(endpoint_url: str, region: str = "us-east-1") -> dict[str, Any]:
    """The provider block tflocal would generate for an endpoint."""
    return {
        "provider": {
            "aws": {
                "region": region,
                "access_key": "test",
                "secret_key": "test",
                "skip_credentials_validation": True,
                "skip_requesting_account_id": True,
                "skip_metadata_api_check": True,
                "skip_region_validation": True,
                "s3_use_path_style": True,
                "max_retries": 2,
                "endpoints": [{service: endpoint_url for service in SERVICES}],
            }
        }
    }


def write_endpoint_override(endpoint_url: str, region: str = "us-east-1", root: Path = TF_ROOT) -> Path:
    """Write <root>/zz_local_override.tf.json; callers hold `endpoint_lock(root)` while it exists."""
    path = root / OVERRIDE_FILE.name
    path.write_text(json.dumps(override_document(endpoint_url, region), indent=2) + "\n")
    return path


@contextmanager
def endpoint_lock(root: Path = TF_ROOT) -> Iterator[None]:
    """Exclusive lock over a root module while an override file may exist in it."""
    lock = LOCK_FILE if root == TF_ROOT else root / ".override.lock"
    lock.parent.mkdir(parents=True, exist_ok=True)
    with lock.open("w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


@contextmanager
def endpoint_override(
    endpoint_url: str | None, region: str = "us-east-1", root: Path = TF_ROOT
) -> Iterator[None]:
    """Hold the lock, write the override (when an endpoint is given), and remove it afterwards."""
    with endpoint_lock(root):
        if endpoint_url:
            write_endpoint_override(endpoint_url, region, root)
        try:
            yield
        finally:
            (root / OVERRIDE_FILE.name).unlink(missing_ok=True)


def private_root(dest: Path) -> Path:
    """A private copy of the root module under dest (functions/, shared/ and docs/ symlinked, so
    manifests, schemas, table.json and the runbook are still read from the repo). Its override needs
    no shared lock, so parallel runs (tests beside `make run`) never wait for each other. Returns
    dest/terraform."""
    root = dest / "terraform"
    shutil.rmtree(root, ignore_errors=True)
    shutil.copytree(
        TF_ROOT,
        root,
        ignore=shutil.ignore_patterns(".terraform", "terraform.tfstate.d", "*.tfstate*", "zz_*", "*.lock"),
    )
    for name in ("functions", "shared", "pyproject.toml", "docs"):
        link = dest / name
        if not link.exists():
            link.symlink_to(ROOT / name, target_is_directory=(ROOT / name).is_dir())
    return root


@dataclass
class Terraform:
    """terraform in the root module with its own data dir and state dir."""

    data_dir: Path
    state_dir: Path
    root: Path = TF_ROOT
    env: dict[str, str] = field(default_factory=dict)

    def run(self, *args: str, check: bool = True, capture: bool = True) -> subprocess.CompletedProcess[str]:
        env = {**os.environ, "TF_DATA_DIR": str(self.data_dir), "TF_IN_AUTOMATION": "1", **self.env}
        env.setdefault("TF_INPUT", "0")
        proc = subprocess.run(
            [terraform_bin(), *args], cwd=self.root, env=env, text=True, capture_output=capture, check=False
        )
        if check and proc.returncode != 0:
            raise TerraformError(
                f"terraform {' '.join(args)} failed ({proc.returncode}):\n{proc.stdout}{proc.stderr}"
            )
        return proc

    def init(self) -> None:
        self.state_dir.mkdir(parents=True, exist_ok=True)
        args = [
            "init",
            "-input=false",
            "-reconfigure",
            f"-backend-config=workspace_dir={self.state_dir.resolve()}",
            f"-backend-config=path={(self.state_dir / 'default.tfstate').resolve()}",
        ]
        plugins = plugin_dir()
        if plugins:
            args.append(f"-plugin-dir={plugins}")
        self.run(*args)

    def select_workspace(self, stage: str) -> None:
        """`workspace select -or-create` (Terraform >= 1.4)."""
        self.run("workspace", "select", "-or-create", stage)

    def plan(self, *extra: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        return self.run("plan", "-input=false", "-lock=false", *extra, check=check)

    def apply(self, *extra: str) -> None:
        self.run("apply", "-input=false", "-auto-approve", *extra)

    def destroy(self, *extra: str) -> None:
        self.run("destroy", "-input=false", "-auto-approve", *extra)

    def output(self) -> dict[str, Any]:
        """Outputs as plain values (sensitive ones included: callers decide what to print)."""
        raw = json.loads(self.run("output", "-json").stdout or "{}")
        return {name: item["value"] for name, item in raw.items()}


def var_args(artifact_dir: Path) -> list[str]:
    return [f"-var=artifact_dir={artifact_dir.resolve()}"]


def deploy_local(
    endpoint_url: str,
    *,
    stage: str = "local",
    state_dir: Path = ROOT / ".local" / "tfstate",
    data_dir: Path = ROOT / ".local" / "tfdata",
    target: str = "host",
    region: str = "us-east-1",
    extra_args: Sequence[str] = (),
    timings: dict[str, float] | None = None,
) -> dict[str, Any]:
    """Build, then init, select the stage's workspace, apply against endpoint_url; return the outputs.

    ``timings`` (when given) gets the seconds of each step: build_s, lock_wait_s (another run holding
    the root module), init_s, apply_s, output_s.
    """
    from scripts.build import build

    spent = timings if timings is not None else {}
    clock = time.monotonic()

    def lap(name: str) -> None:
        nonlocal clock
        now = time.monotonic()
        spent[name] = now - clock
        clock = now

    stage_settings = json.loads((TF_ROOT / "stages" / f"{stage}.json").read_text())
    artifact_dir = build(target, bool(stage_settings.get("bundle_layer", False)))
    lap("build_s")
    tf = Terraform(data_dir=data_dir, state_dir=state_dir)
    with endpoint_lock():
        lap("lock_wait_s")
        write_endpoint_override(endpoint_url, region)
        try:
            tf.init()
            tf.select_workspace(stage)
            lap("init_s")
            tf.apply(f"-parallelism={EMULATOR_PARALLELISM}", *var_args(artifact_dir), *extra_args)
            lap("apply_s")
            outputs = tf.output()
            lap("output_s")
            return outputs
        finally:
            OVERRIDE_FILE.unlink(missing_ok=True)


def main(argv: Sequence[str] | None = None) -> int:
    """CLI for emulator targets: python -m scripts.tf apply --stage localstack --endpoint URL."""
    import argparse
    import sys

    from scripts.build import build

    parser = argparse.ArgumentParser(prog="python -m scripts.tf", description=main.__doc__)
    parser.add_argument("command", choices=["plan", "apply", "destroy", "output"])
    parser.add_argument("--stage", required=True)
    parser.add_argument("--endpoint", help="AWS endpoint URL of the emulator (e.g. http://localhost:4566)")
    parser.add_argument("--region", default="us-east-1")
    parser.add_argument("--target", choices=["lambda", "host"], default="lambda")
    parser.add_argument("--state-dir", type=Path, default=None, help="default .local/<stage>/tfstate")
    parser.add_argument("--data-dir", type=Path, default=None, help="default .local/<stage>/tfdata")
    args = parser.parse_args(argv)

    base = ROOT / ".local" / args.stage
    runner = Terraform(
        data_dir=args.data_dir or base / "tfdata", state_dir=args.state_dir or base / "tfstate"
    )
    stage_settings = json.loads((TF_ROOT / "stages" / f"{args.stage}.json").read_text())
    artifact_dir = build(args.target, bool(stage_settings.get("bundle_layer", False)))
    with endpoint_override(args.endpoint, args.region):
        runner.init()
        runner.select_workspace(args.stage)
        if args.command == "output":
            proc = runner.run("output", capture=False, check=False)
        else:
            extra = ["-auto-approve"] if args.command != "plan" else []
            if args.endpoint and args.command != "plan":
                extra.append(f"-parallelism={EMULATOR_PARALLELISM}")
            proc = runner.run(
                args.command, "-input=false", *extra, *var_args(artifact_dir), capture=False, check=False
            )
    sys.stdout.flush()
    return proc.returncode


if __name__ == "__main__":
    raise SystemExit(main())
