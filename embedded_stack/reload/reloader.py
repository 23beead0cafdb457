"""The hot reload of `make run`: a save under functions/, shared/ or terraform/ is deployed at once.

    reloader = Reloader(console=sys.stdout).watch()   # before the stack starts: no save is missed
    handle = start_stack(...)
    reloader.serve(handle)                            # deploys from now on
    ...
    reloader.stop()

Batches of saves are queued and handled one at a time; whatever is saved while a deploy runs is
handled right after it, in one go. Code goes through ``CodeDeployer`` (seconds); anything Terraform
reads goes through an incremental `terraform apply` of the same workspace (``StackHandle.reapply``).
Each deploy is printed and appended to ``<state dir>/logs/reloads.jsonl``: ``at`` (when its first
save was seen), ``queue_s`` (waiting behind the previous deploy), the seconds of each step, ``outcome``.
"""

from __future__ import annotations

import json
import sys
import threading
import time
import traceback
from pathlib import Path
from typing import IO, Any

from embedded_stack.reload.changes import Changes, classify
from embedded_stack.reload.checks import Failure, compile_sources
from embedded_stack.reload.code import CodeDeployer, Outcome
from embedded_stack.reload.watcher import Watcher
from scripts.build import ROOT

WATCHED = ("functions", "shared", "terraform", "requirements")


class Reloader:
    """Watches the source tree and redeploys the running stack (see the module docstring)."""

    def __init__(
        self, *, root: Path = ROOT, stage: str = "local", console: IO[str] | None = sys.stdout
    ) -> None:
        self.root = root
        self.stage = stage
        self._console = console
        self._print_lock = threading.Lock()
        self._lock = threading.Lock()
        self._pending: set[Path] = set()
        self._first_event: float | None = None  # wall clock of the oldest unhandled event
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._stack: Any = None
        self._deployer: CodeDeployer | None = None
        self._watcher: Watcher | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ---------------------------------------------------------------------------------

    def watch(self) -> Reloader:
        """Start collecting file events (they are held until ``serve``)."""
        self._watcher = Watcher([self.root / name for name in WATCHED], self.notify).start()
        return self

    def serve(self, stack: Any) -> Reloader:
        """Deploy every batch of saves to ``stack`` from now on."""
        settings = json.loads((self.root / "terraform" / "stages" / f"{self.stage}.json").read_text())
        self._stack = stack
        self._deployer = CodeDeployer(stack, bool(settings.get("bundle_layer", False)))
        self._thread = threading.Thread(target=self._loop, name="reload", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop watching; a deploy in progress is finished first (Ctrl-C also reaches a running
        terraform, which then stops cleanly), so no half-made deploy or override file is left."""
        self._stopping.set()
        self._wake.set()
        if self._watcher is not None:
            self._watcher.stop()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            if self._thread.is_alive():
                self._say("waiting for the deploy in progress to finish...")
                self._thread.join(timeout=300.0)

    def notify(self, paths: set[Path]) -> None:
        """A batch of changed paths (from the watcher, or a test)."""
        with self._lock:
            self._pending |= paths
            if self._first_event is None:
                self._first_event = time.time()
        self._wake.set()

    # -- the loop ----------------------------------------------------------------------------------

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                paths, self._pending = self._pending, set()
                since, self._first_event = self._first_event, None
            if self._stopping.is_set() or not paths:
                continue
            changes = classify(paths, self.root, self.stage)
            if changes.empty:
                continue
            try:
                self.reload(changes, since or time.time())
            except Exception as exc:  # keep watching: the next save may fix it
                self._say(f"deploy failed: {type(exc).__name__}: {exc}")
                self._say(*traceback.format_exc().rstrip().splitlines()[-6:])

    def reload(self, changes: Changes, since: float) -> None:
        """Deploy one batch: compile first, then code (fast path) or terraform apply (infrastructure)."""
        record: dict[str, Any] = {"at": since, "queue_s": round(time.time() - since, 3)}
        started = time.monotonic()
        broken = compile_sources(self._stack.runner.python, changes.sources, self.root)
        record["compile_s"] = round(time.monotonic() - started, 3)
        if changes.infra:
            record.update(self._apply(changes, broken))
        else:
            record.update(self._code(changes, broken, started))
        record["total_s"] = round(time.monotonic() - started, 3)
        self._record(record)

    def _code(self, changes: Changes, broken: dict[Path, Failure], started: float) -> dict[str, Any]:
        assert self._deployer is not None
        functions = {op for op in changes.functions if not self._under(broken, "functions", op)}
        layer = changes.layer and not self._under(broken, "shared")
        for failure in broken.values():
            self._say(*failure.lines())
        held = self._deployer.serving(changes.functions - functions)
        if changes.layer and not layer:
            self._say("the layer is not deployed: every function keeps the layer version it has")
        if held:
            self._say(f"not deployed, the last good code keeps serving: {_versions(held)}")
        if not functions and not layer:
            return {"kind": "code", "outcome": "rejected", "functions": [], "failures": len(broken)}
        outcome = self._deployer.deploy(functions, layer)
        self._report(outcome, time.monotonic() - started)
        verdict = "deployed" if outcome.published else "unchanged"
        return {
            "kind": "code",
            "outcome": "rejected" if outcome.failures or broken else verdict,
            "functions": sorted(outcome.published),
            "versions": {op: p.version for op, p in outcome.published.items()},
            "layer_arn": outcome.layer_arn,
            "failures": len(outcome.failures) + len(broken),
            **outcome.steps,
        }

    def _apply(self, changes: Changes, broken: dict[Path, Failure]) -> dict[str, Any]:
        from scripts.tf import TerraformError

        assert self._deployer is not None
        what = ", ".join(changes.infra[:3]) + (
            f" and {len(changes.infra) - 3} more" if len(changes.infra) > 3 else ""
        )
        self._say(
            f"infrastructure changed ({what}): terraform apply of workspace {self.stage} (incremental)..."
        )
        for failure in broken.values():
            self._say(*failure.lines())
        checked = self._deployer.deploy(None, True, check_only=True) if not broken else Outcome()
        for failure in checked.failures:
            self._say(*failure.lines())
        if broken or checked.failures:
            self._say("not applied: fix the error and save again (the stack keeps serving what it has)")
            return {
                "kind": "terraform",
                "outcome": "rejected",
                "failures": len(broken) + len(checked.failures),
            }
        steps: dict[str, float] = {}
        started = time.monotonic()
        try:
            self._stack.reapply(steps)
        except TerraformError as exc:
            self._say("terraform apply failed; the stack serves what Terraform left deployed:")
            self._say(*[line for line in str(exc).splitlines() if line.strip()][-12:])
            return {"kind": "terraform", "outcome": "failed", "apply_s": round(time.monotonic() - started, 3)}
        self._say(
            f"terraform apply done in {time.monotonic() - started:.1f} s; serving the new configuration"
        )
        return {"kind": "terraform", "outcome": "applied", **{k: round(v, 3) for k, v in steps.items()}}

    # -- output ------------------------------------------------------------------------------------

    def _under(self, broken: dict[Path, Failure], *parts: str) -> bool:
        base = self.root.joinpath(*parts)
        return any(path.is_relative_to(base) for path in broken)

    def _report(self, outcome: Outcome, elapsed_s: float) -> None:
        for failure in outcome.failures:
            self._say(*failure.lines())
        if outcome.serving:
            self._say(f"not deployed, the last good code keeps serving: {_versions(outcome.serving)}")
        if outcome.published:
            published = _versions({op: p.version for op, p in outcome.published.items()})
            steps = ", ".join(f"{k.removesuffix('_s')} {v:.2f}" for k, v in outcome.steps.items())
            layer = ""
            if outcome.layer_arn:
                name, number = outcome.layer_arn.split(":")[6:8]
                layer = f"layer {name} version {number}, "
            self._say(f"updated {layer}{published} in {elapsed_s:.2f} s ({steps} s)")
        elif outcome.nothing_to_do:
            self._say("nothing to deploy: the saved files build to the code already serving")

    def _say(self, *lines: str) -> None:
        if self._console is None:
            return
        with self._print_lock:
            for line in lines:
                self._console.write(f"[reload] {line}\n")
            self._console.flush()

    def _record(self, record: dict[str, Any]) -> None:
        path = self._stack.state_dir / "logs" / "reloads.jsonl"
        with path.open("a") as handle:
            handle.write(json.dumps(record, sort_keys=True) + "\n")


def _versions(by_function: dict[str, str]) -> str:
    return ", ".join(f"{op} (version {version})" for op, version in sorted(by_function.items()))
