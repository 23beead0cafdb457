"""What is measured (handlers and baselines) and how one measured container is started."""

import json
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.sandbox import REPO, RUNTIME_PRELUDE, Sandbox, lambda_env

WORKER = Path(__file__).resolve().parent / "worker.py"
BASELINES = Path(__file__).resolve().parent / "baselines"


@dataclass(frozen=True)
class Entry:
    """One Lambda handler under measurement: ours, or a baseline."""

    name: str
    role: str  # "handler", "seed", "powertools" or "floor"
    kind: str  # which sys.path it gets: "ours", "plain" or "powertools" (see Sandbox.sys_path)
    task_root: Path
    module: str

    @property
    def is_baseline(self) -> bool:
        """Baselines are the references ratios are taken against."""
        return self.role != "handler"


SEED = Entry("seed-style", "seed", "plain", BASELINES, "seed_style")
POWERTOOLS = Entry("powertools-everything", "powertools", "powertools", BASELINES, "powertools_all")
FLOOR = Entry("floor (boto3 client only)", "floor", "plain", BASELINES, "floor")
BASELINE_ENTRIES = (SEED, POWERTOOLS, FLOOR)


def services_called(entry: Entry) -> list[str]:
    """AWS services the function's own code calls, from its manifest's permissions (design.md §1).

    Left out: what the event source mapping does with the function's role, not the code — reading the
    stream and sending to its on-failure destination.
    """
    manifest = entry.task_root / "function.json"
    if entry.is_baseline or not manifest.is_file():
        return []
    spec = json.loads(manifest.read_text())
    mapping_only = {"table_stream"} | {
        source.get("on_failure") for source in (spec.get("events") or {}).values() if isinstance(source, dict)
    }
    services = []
    for permission in spec["permissions"]:
        if permission.get("resource") in mapping_only:
            continue
        for action in permission["actions"]:
            service = action.split(":", 1)[0]
            # KMS through another service (the table's key) is not a client of the code's; the
            # stage key named directly (kms_key: webhook secrets) is.
            if service not in services and (service != "kms" or permission.get("resource") == "kms_key"):
                services.append(service)
    return services


def handler_entries() -> list[Entry]:
    """Every function under functions/ that has a handler.py (the ones not written yet are absent)."""
    return [
        Entry(folder.name, "handler", "ours", folder, "handler")
        for folder in sorted((REPO / "functions").iterdir())
        if (folder / "handler.py").is_file() and (folder / "function.json").is_file()
    ]


def missing_handlers() -> list[str]:
    """Functions that have a manifest but no handler yet."""
    return [
        folder.name
        for folder in sorted((REPO / "functions").iterdir())
        if (folder / "function.json").is_file() and not (folder / "handler.py").is_file()
    ]


def prime(sandbox: Sandbox, entries: list[Entry]) -> None:
    """Write the bytecode caches a deployment has (runtime, baselines, the bytecode copy of the layer).

    The as-shipped copy of the layer is never primed: measured containers import it with -B.
    """
    for entry in entries:
        run_worker(sandbox, entry, "cold", shipped=False)


class WorkerError(RuntimeError):
    """A measured container failed: the message carries the end of its stderr."""


def run_worker(
    sandbox: Sandbox,
    entry: Entry,
    mode: str,
    *,
    env: dict[str, str] | None = None,
    shipped: bool = True,
    timeout_s: float = 300.0,
    **spec: Any,
) -> dict[str, Any]:
    """Start a fresh interpreter for `entry`, run `mode`, return its JSON result.

    shipped=True imports our layer exactly as its zip ships it (with the bytecode it carries) and
    writes none (`-B`), as on Lambda's read-only /opt. shipped=False uses a copy whose
    bytecode caches earlier runs wrote.
    """
    python_flags = ("-B",) if shipped else ()
    with tempfile.TemporaryDirectory(prefix="bench-") as tmp:
        result_path = Path(tmp) / "result.json"
        full_spec = {
            "mode": mode,
            "sys_path": sandbox.sys_path(entry.task_root, entry.kind, shipped),
            "module": entry.module,
            "function_name": f"bench-{entry.name}",
            "prelude": list(RUNTIME_PRELUDE),
            "result_path": str(result_path),
            **spec,
        }
        full_env = lambda_env(f"bench-{entry.name}", f"{entry.module}.handler", entry.task_root, env or {})
        done = subprocess.run(  # noqa: S603 - our own interpreter and worker script
            [sandbox.python, "-I", "-S", *python_flags, str(WORKER)],
            input=json.dumps(full_spec),
            capture_output=True,
            text=True,
            env=full_env,
            timeout=timeout_s,
            check=False,
        )
        if done.returncode != 0 or not result_path.exists():
            tail = "\n".join(done.stderr.strip().splitlines()[-12:])
            raise WorkerError(f"{entry.name} ({mode}) exited {done.returncode}:\n{tail}")
        result: dict[str, Any] = json.loads(result_path.read_text())
        return result
