"""The fast path of a save: rebuild the touched zips, check them, and publish them as a deploy would.

    deployer = CodeDeployer(stack)
    outcome = deployer.deploy({"get_item"}, layer=False)   # or check_only=True before a terraform apply

What is deployed is decided by content, not by which file was saved: a rebuilt zip whose CodeSha256
is already the one its alias serves is left alone, so a save that changes nothing deploys nothing.
"""

from __future__ import annotations

import json
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from embedded_stack.lambda_runtime.deployment import Deployment, layer_import_paths
from embedded_stack.reload.checks import Failure, import_checks, with_code
from embedded_stack.reload.publish import Published, Publisher, b64_sha256
from scripts.build import build

log = logging.getLogger("embedded.reload")


@dataclass
class _Target:
    """One function this change updates: new code, a new layer version, or both."""

    op: str  # the manifest's folder name
    name: str  # the deployed function's name
    alias: str
    live: dict[str, Any]  # configuration of the version the alias names
    code: tuple[Path, str] | None = None  # (zip, CodeSha256) when the code changes
    layer_arn: str | None = None  # our layer's version it uses now, when that changes


@dataclass
class Outcome:
    """What one deploy did: published versions, or why nothing was (and what keeps serving)."""

    published: dict[str, Published] = field(default_factory=dict)  # by manifest name
    failures: list[Failure] = field(default_factory=list)
    serving: dict[str, str] = field(default_factory=dict)  # manifest name -> version still live, if held
    layer_arn: str | None = None
    steps: dict[str, float] = field(default_factory=dict)

    @property
    def nothing_to_do(self) -> bool:
        return not (self.published or self.failures)


class CodeDeployer:
    """Builds, checks and publishes code for a running stack (see the module docstring)."""

    def __init__(self, stack: Any, bundle_layer: bool) -> None:
        self._stack = stack
        self._bundle_layer = bundle_layer
        self._publisher = Publisher(stack.aws_endpoint_url, stack.info["region"])
        self._workers = max(1, (os.cpu_count() or 2))
        self._artifact_dir = Path()  # where the last build wrote (build/<target>)

    def serving(self, ops: set[str]) -> dict[str, str]:
        """The version each function's alias names now (what keeps serving when a change is held)."""
        functions = self._stack.outputs.get("functions") or {}
        return {
            op: self._publisher.live(functions[op]["function_name"], functions[op]["alias_name"])["Version"]
            for op in sorted(ops)
            if op in functions
        }

    # -- what changes ------------------------------------------------------------------------------

    def _targets(self, manifest: dict[str, Any], functions: set[str] | None, layer: bool) -> list[_Target]:
        outputs = self._stack.outputs
        ours = (outputs.get("artifacts") or {}).get("layer_arn")
        prefix = ours.rsplit(":", 1)[0] + ":" if ours else None
        new_layer = b64_sha256(manifest["layer"]["sha256"])
        layer_shas: dict[str, str] = {}
        targets = []
        for op, fn in sorted((outputs.get("functions") or {}).items()):
            if not layer and functions is not None and op not in functions:
                continue  # neither its code nor its layer changes: not even read
            live = self._publisher.live(fn["function_name"], fn["alias_name"])
            target = _Target(op, fn["function_name"], fn["alias_name"], live)
            built = manifest["functions"].get(op)
            if built and (functions is None or op in functions):
                sha = b64_sha256(built["sha256"])
                if sha != live.get("CodeSha256"):
                    target.code = (self._artifact_dir / built["path"], sha)
            if layer and prefix:
                arn = next((x["Arn"] for x in live.get("Layers") or [] if x["Arn"].startswith(prefix)), None)
                if arn is not None and arn not in layer_shas:
                    layer_shas[arn] = self._publisher.layer_version(arn)["Content"]["CodeSha256"]
                if arn is not None and layer_shas[arn] != new_layer:
                    target.layer_arn = arn
            if target.code or target.layer_arn:
                targets.append(target)
        return targets

    # -- checks ------------------------------------------------------------------------------------

    def _layer_paths(self, live: dict[str, Any], replaced: str, new_dir: Path) -> list[str]:
        """sys.path entries of every layer of ``live``, ``replaced`` swapped for the new layer."""
        runner = self._stack.runner
        runtime = live.get("Runtime") or "python3.12"
        paths: list[str] = []
        for layer in live.get("Layers") or []:
            if layer["Arn"] == replaced:
                folder = new_dir
            else:
                content = self._publisher.layer_version(layer["Arn"])["Content"]
                folder = runner.code_cache.extract(content["Location"], content["CodeSha256"])
            paths += layer_import_paths(folder, runtime)
        return paths

    def _check(self, targets: list[_Target], manifest: dict[str, Any]) -> dict[str, Failure]:
        runner = self._stack.runner
        new_layer_dir = None
        if any(t.layer_arn for t in targets):
            zip_path = self._artifact_dir / manifest["layer"]["path"]
            new_layer_dir = runner.code_cache.extract(
                zip_path.as_uri(), b64_sha256(manifest["layer"]["sha256"])
            )
        deployments: list[Deployment] = []
        shown = {f"{new_layer_dir}/python/apikit/": "shared/apikit/"} if new_layer_dir else {}
        for t in targets:
            deployed = runner.deployment(t.name, t.alias)
            code_dir = runner.code_cache.extract(t.code[0].as_uri(), t.code[1]) if t.code else None
            layers = (
                self._layer_paths(t.live, t.layer_arn, new_layer_dir)
                if t.layer_arn and new_layer_dir
                else None
            )
            deployments.append(with_code(deployed, code_dir=code_dir, layer_paths=layers))
            shown[f"{code_dir or deployed.code_dir}/"] = f"functions/{t.op}/"
        failures = import_checks(runner, deployments, workers=self._workers)
        ops = {t.name: t.op for t in targets}
        return {name: failure.shown(ops[name], shown) for name, failure in failures.items()}

    # -- deploy ------------------------------------------------------------------------------------

    def deploy(self, functions: set[str] | None, layer: bool, *, check_only: bool = False) -> Outcome:
        """Rebuild ``functions`` (None: all) and the layer if asked; check; publish unless ``check_only``."""
        outcome = Outcome()
        clock = time.monotonic()

        def lap(step: str) -> None:
            nonlocal clock
            now = time.monotonic()
            outcome.steps[step] = round(now - clock, 3)
            clock = now

        stack = self._stack
        if layer and self._bundle_layer:
            functions = None  # the layer is inside every function zip
        only = None if functions is None else sorted(functions)
        self._artifact_dir = build(
            stack.target, self._bundle_layer, only=only, layer=layer or functions is None
        )
        manifest = json.loads((self._artifact_dir / "manifest.json").read_text())
        lap("build_s")
        targets = self._targets(manifest, functions, layer)
        if not targets:
            return outcome
        failures = self._check(targets, manifest)
        lap("check_s")
        if failures:
            outcome.failures = list(failures.values())
            # A new layer reaches every function or none; otherwise each function stands alone.
            held = (
                targets if any(t.layer_arn for t in targets) else [t for t in targets if t.name in failures]
            )
            outcome.serving = {t.op: t.live["Version"] for t in held}
            targets = [t for t in targets if t not in held]
        if check_only or not targets:
            return outcome
        stack.deploying_code()  # before the first upload: a restart must not skip terraform apply
        outcome.published, outcome.layer_arn = self._publish(targets, manifest)
        lap("deploy_s")
        for op, published in outcome.published.items():
            stack.runner.invalidate(published.function_name)
            self._preload(published.function_name, stack.outputs["functions"][op]["alias_name"])
        if any(p.mappings_moved for p in outcome.published.values()):
            stack.pollers.sync()
        return outcome

    def _preload(self, function_name: str, alias: str) -> None:
        """Read the new version's configuration now, as Lambda knows it once published, so the next
        request pays only its cold start; a failure here is the next invocation's to report."""
        try:
            self._stack.runner.deployment(function_name, alias)
        except Exception as exc:  # reported by the invocation that needs it
            log.debug("could not read %s:%s after publishing: %s", function_name, alias, exc)

    def _publish(
        self, targets: list[_Target], manifest: dict[str, Any]
    ) -> tuple[dict[str, Published], str | None]:
        bucket = self._stack.outputs["artifacts"]["bucket"]
        publisher = self._publisher
        new_layer = None
        replaced = {t.layer_arn for t in targets if t.layer_arn}
        if replaced:
            key = manifest["layer"]["path"]
            version = publisher.upload(bucket, key, self._artifact_dir / key)
            new_layer = publisher.publish_layer(sorted(replaced)[-1], bucket, key, version)

        def one(t: _Target) -> Published:
            code = None
            if t.code:
                key = manifest["functions"][t.op]["path"]
                code = (bucket, key, publisher.upload(bucket, key, t.code[0]), t.code[1])
            layers = None
            if t.layer_arn and new_layer:
                layers = [
                    new_layer if x["Arn"] == t.layer_arn else x["Arn"] for x in t.live.get("Layers") or []
                ]
            return publisher.publish_function(t.name, t.alias, code=code, layers=layers)

        with ThreadPoolExecutor(max_workers=8) as pool:
            return dict(zip([t.op for t in targets], pool.map(one, targets), strict=True)), new_layer
