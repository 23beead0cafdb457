"""`terraform test` with a mocked AWS provider: the root module in every stage's workspace, each
module's logic (manifests -> functions, roles, routes; tiers -> usage plans; thresholds -> alarms),
the stage guard, and the bootstrap. Seconds, not minutes: no moto; plans and applies against moto
(test_plan.py, test_apply.py) stay for what needs a real API. The .tftest.hcl files say what they
check; this runs them, in a private copy of the root module, two at a time."""

from __future__ import annotations

import functools
import json
import re
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from scripts import tf
from tests.terraform.harness import STAGES, artifacts, session_dir

pytestmark = pytest.mark.terraform

OTEL_LAYER = "arn:aws:lambda:eu-west-1:901920570463:layer:aws-otel-python-amd64-ver-1-32-0:2"
# Stage files only this test writes (into its private copy): what the guard must refuse.
REFUSED_STAGES = {
    "emulated-provisioned": lambda s: {
        **s,
        "functions": {**s["functions"], "defaults": {"provisioned_concurrency": 1}},
    },
    "emulated-snapstart": lambda s: {
        **s,
        "functions": {**s["functions"], "overrides": {"get_item": {"snap_start": True}}},
    },
    "emulated-otel": lambda s: {**s, "tracing": {"sdk": "otel", "otel_layer_arn": OTEL_LAYER}},
    "emulated-slo": lambda s: {
        **s,
        "slo": {"availability_percent": 99.9, "latency_ms": 1000, "latency_percent": 99},
    },
    "emulated-autoscaling": lambda s: {
        **s,
        "table": {
            **s["table"],
            "billing_mode": "PROVISIONED",
            "autoscaling": {k: {"min": 1, "max": 2, "target_utilization": 70} for k in ("read", "write")},
        },
    },
}
# Variants of AWS stages that plan (written the same way): dev tracing with OpenTelemetry.
VARIANTS = {
    "dev-otel": ("dev", lambda s: {**s, "tracing": {"sdk": "otel", "otel_layer_arn": OTEL_LAYER}}),
}
# workspace -> the test files that run there.
RUNS: dict[str, tuple[str, ...]] = {
    **{stage: ("tests/stages.tftest.hcl",) for stage in (*STAGES, *VARIANTS)},
    "local": ("tests/stages.tftest.hcl", "tests/modules.tftest.hcl"),
    **{ws: ("tests/guard.tftest.hcl",) for ws in ("default", *REFUSED_STAGES)},
}


def _init(directory: Path, data_dir: Path) -> tf.Terraform:
    runner = tf.Terraform(data_dir=data_dir, state_dir=data_dir, root=directory)
    args = ["init", "-backend=false", "-input=false", "-no-color", "-lockfile=readonly"]
    if tf.plugin_dir():
        args.append(f"-plugin-dir={tf.plugin_dir()}")
    runner.run(*args)
    return runner


# Terraform's mock providers refuse every ephemeral resource type at validation, even one that is
# never opened ("The provider mocking mechanism does not yet support ephemeral resource types", up to
# Terraform 1.11 at least). The cursor key's module writes its first value from Secrets Manager's
# ephemeral random password, so in this private copy only, that one value becomes a literal; every
# resource of the module is still planned. The real module is applied to moto by test_apply.py.
EPHEMERAL_VALUE = re.compile(r'ephemeral "aws_secretsmanager_random_password" "initial" \{.*?\n\}\n', re.S)


def _mockable_secret_module(main_tf: Path) -> None:
    text = main_tf.read_text()
    mocked = EPHEMERAL_VALUE.sub("", text).replace(
        "ephemeral.aws_secretsmanager_random_password.initial.random_password", '"mocked-initial-value"'
    )
    assert 'ephemeral "' not in mocked and mocked != text, "the secret module changed: update this double"
    main_tf.write_text(mocked)


@functools.cache
def _root() -> tf.Terraform:
    root = tf.private_root(session_dir() / "tftest")
    _mockable_secret_module(root / "modules" / "secret" / "main.tf")
    local = json.loads((root / "stages" / "local.json").read_text())
    for name, change in REFUSED_STAGES.items():
        (root / "stages" / f"{name}.json").write_text(json.dumps(change(local)))
    for name, (base, change) in VARIANTS.items():
        settings = json.loads((root / "stages" / f"{base}.json").read_text())
        (root / "stages" / f"{name}.json").write_text(json.dumps(change(settings)))
    return _init(root, session_dir() / "tftest-data")


def _test(
    runner: tf.Terraform, workspace: str, files: tuple[str, ...], *extra: str
) -> subprocess.CompletedProcess[str]:
    filters = [f"-filter={f}" for f in files]
    env = {**runner.env, "TF_WORKSPACE": workspace}
    return tf.Terraform(runner.data_dir, runner.state_dir, runner.root, env).run(
        "test", "-no-color", *filters, *extra, check=False
    )


@functools.cache
def _results() -> dict[str, subprocess.CompletedProcess[str]]:
    runner = _root()
    bundled = {ws: artifacts(bundle_layer=ws == "localstack") for ws in RUNS}

    def run(workspace: str) -> subprocess.CompletedProcess[str]:
        if workspace == "bootstrap":
            boot = _init(runner.root / "bootstrap", session_dir() / "tftest-bootstrap")
            return tf.Terraform(boot.data_dir, boot.state_dir, boot.root).run(
                "test", "-no-color", check=False
            )
        return _test(runner, workspace, RUNS[workspace], f"-var=artifact_dir={bundled[workspace]}")

    with ThreadPoolExecutor(max_workers=2) as pool:
        names = ["bootstrap", *RUNS]
        return dict(zip(names, pool.map(run, names), strict=True))


def _assert_passed(proc: subprocess.CompletedProcess[str]) -> None:
    out = proc.stdout + proc.stderr
    summary = re.search(r"(\d+) passed, (\d+) failed(?:, (\d+) skipped)?", out)
    assert proc.returncode == 0 and summary, out[-6000:]
    assert int(summary.group(1)) > 0 and summary.group(2) == "0" and not summary.group(3), out[-6000:]


@pytest.mark.parametrize("workspace", sorted(RUNS))
def test_root_module(workspace: str) -> None:
    _assert_passed(_results()[workspace])


def test_bootstrap() -> None:
    _assert_passed(_results()["bootstrap"])


def test_every_test_file_runs_somewhere() -> None:
    root = Path(__file__).resolve().parents[2] / "terraform" / "tests"
    files = {f"tests/{p.name}" for p in root.glob("*.tftest.hcl")}
    assert files == {f for fs in RUNS.values() for f in fs}, "a .tftest.hcl file that no workspace runs"
