"""Where a deploy's time goes: the steps of `make run`'s Terraform share, timed one by one."""

import json
import re
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks.embedded.make_run import wait_for_quiet
from benchmarks.sandbox import CACHE, Log

_RESOURCE_DONE = re.compile(r"^(\S+): Creation complete after (?:(\d+)m)?(\d+)s")


def terraform_breakdown(log: Log) -> dict[str, Any]:
    """Build, init, workspace, apply (slowest resources), output.

    The same steps as scripts.tf.deploy_local, timed one by one against a fresh patched moto server,
    with this suite's own Terraform data and state folders (so a running stack is never disturbed).
    """
    # Imported here: moto's server and the build load only when measurement 6 runs.
    from embedded_stack.moto_server.server import start_moto  # noqa: PLC0415
    from scripts import tf  # noqa: PLC0415
    from scripts.build import build  # noqa: PLC0415
    from scripts.lambda_python import find_lambda_python  # noqa: PLC0415

    target = "lambda" if find_lambda_python() else "host"
    stage = json.loads((tf.TF_ROOT / "stages" / "local.json").read_text())
    steps: dict[str, float] = {}
    others = wait_for_quiet(log)
    moto = start_moto(0)
    try:
        with tempfile.TemporaryDirectory(prefix="bench-tfstate-") as state:
            start = time.monotonic()
            artifacts = build(target, bool(stage.get("bundle_layer", False)), out=CACHE / "build")
            steps["build"] = time.monotonic() - start
            terraform = tf.Terraform(data_dir=CACHE / "tfdata", state_dir=Path(state))
            with tf.endpoint_override(moto.endpoint_url, stage["region"]):
                start = time.monotonic()
                terraform.init()
                steps["init"] = time.monotonic() - start
                start = time.monotonic()
                terraform.select_workspace("local")
                steps["workspace"] = time.monotonic() - start
                start = time.monotonic()
                flags = ("-input=false", "-auto-approve", "-no-color")
                applied = terraform.run("apply", *flags, *tf.var_args(artifacts))
                steps["apply"] = time.monotonic() - start
                start = time.monotonic()
                terraform.output()
                steps["output"] = time.monotonic() - start
    finally:
        moto.stop()
    slowest = []
    for line in applied.stdout.splitlines():
        match = _RESOURCE_DONE.match(line.strip())
        if match:
            seconds = int(match.group(2) or 0) * 60 + int(match.group(3))
            slowest.append({"resource": match.group(1), "seconds": seconds})
    slowest.sort(key=lambda r: r["seconds"], reverse=True)
    by_class: dict[str, dict[str, int]] = {}  # aws_sqs_queue -> count, slowest, summed seconds
    for row in slowest:
        kind = next((p for p in row["resource"].split(".") if p.startswith("aws_")), row["resource"])
        kind = kind.split("[", 1)[0]
        entry = by_class.setdefault(kind, {"count": 0, "max_s": 0, "sum_s": 0})
        entry["count"] += 1
        entry["max_s"] = max(entry["max_s"], row["seconds"])
        entry["sum_s"] += row["seconds"]
    log("  terraform breakdown: " + ", ".join(f"{k} {v:.1f}s" for k, v in steps.items()))
    return {"target": target, "steps_s": steps, "resources": len(slowest), "slowest": slowest[:8],
            "by_class": by_class, "other_stacks_at_start": others}  # fmt: skip
