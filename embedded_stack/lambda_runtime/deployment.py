"""What runs: one function version as deployed, read from the control plane, its code unpacked once.

A function is known by name, partial ARN or (qualified) ARN, as Lambda's Invoke accepts it. Its
configuration comes from GetFunction and its layers from GetLayerVersion; zips are downloaded from
the control plane and checked against CodeSha256 before they are unpacked.
"""

from __future__ import annotations

import base64
import hashlib
import io
import os
import shutil
import threading
import urllib.request
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from scripts.lambda_python import LAMBDA_RUNTIME


class RunnerError(RuntimeError):
    """The runner cannot run a function at all (bad deployment, missing interpreter...)."""


@dataclass(frozen=True)
class Deployment:
    """One function version as deployed: what a worker needs to start."""

    function_name: str
    version: str
    function_arn: str  # unqualified
    handler: str
    runtime: str
    timeout_s: float
    memory_mb: int
    environment: tuple[tuple[str, str], ...]
    code_dir: str
    layer_paths: tuple[str, ...]
    tracing_active: bool


def split_function_ref(function_name: str, qualifier: str | None) -> tuple[str, str | None]:
    """Accept a name, a partial ARN or a (qualified) ARN, as Lambda's Invoke does."""
    if function_name.startswith("arn:"):
        parts = function_name.split(":")
        # arn:aws:lambda:region:account:function:name[:qualifier]
        name = parts[6]
        arn_qualifier = parts[7] if len(parts) > 7 else None
        if qualifier and arn_qualifier and qualifier != arn_qualifier:
            raise ValueError("The derived qualifier from the function name does not match the qualifier")
        return name, qualifier or arn_qualifier
    if ":" in function_name:
        name, arn_qualifier = function_name.split(":", 1)
        return name, qualifier or arn_qualifier
    return function_name, qualifier


class CodeCache:
    """Zips downloaded from the control plane, checked against CodeSha256, extracted once per sha."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._lock = threading.Lock()
        root.mkdir(parents=True, exist_ok=True)

    def extract(self, location: str, code_sha256: str) -> Path:
        key = base64.b64decode(code_sha256).hex()
        target = self._root / key
        with self._lock:
            if target.is_dir():
                return target
            with urllib.request.urlopen(location, timeout=30) as response:  # noqa: S310 - the moto endpoint
                data = response.read()
            actual = base64.b64encode(hashlib.sha256(data).digest()).decode()
            if actual != code_sha256:
                raise RunnerError(
                    f"code at {location} has sha256 {actual}, deployed CodeSha256 is {code_sha256}"
                )
            staging = self._root / f".{key}.{os.getpid()}.tmp"
            shutil.rmtree(staging, ignore_errors=True)
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for member in archive.infolist():
                    dest = (staging / member.filename).resolve()
                    if not str(dest).startswith(str(staging.resolve())):
                        raise RunnerError(f"zip entry escapes the code directory: {member.filename}")
                archive.extractall(staging)  # entries checked above
            os.replace(staging, target)
            return target


def layer_import_paths(layer_dir: Path, runtime: str) -> list[str]:
    """Where the Python runtime looks inside an extracted layer (/opt), in its order."""
    return [str(layer_dir / "python" / "lib" / runtime / "site-packages"), str(layer_dir / "python")]


def read_deployment(client: Any, code: CodeCache, name: str, qualifier: str | None) -> Deployment:
    """name:qualifier as the control plane has it (GetFunction, GetLayerVersion), its code unpacked."""
    kwargs: dict[str, str] = {"FunctionName": name}
    if qualifier:
        kwargs["Qualifier"] = qualifier
    fn = client.get_function(**kwargs)
    config = fn["Configuration"]
    package = fn.get("Code") or {}
    if "Location" not in package:
        raise RunnerError(f"{name}: only zip packages can run here (got {package.get('RepositoryType')})")
    code_dir = code.extract(package["Location"], config["CodeSha256"])
    layer_paths: list[str] = []
    for layer in config.get("Layers") or []:
        # GetLayerVersionByArn is not implemented by moto; the name/number form is equivalent.
        parts = layer["Arn"].split(":")  # arn:aws:lambda:region:account:layer:name:version
        content = client.get_layer_version(LayerName=parts[6], VersionNumber=int(parts[7]))["Content"]
        layer_dir = code.extract(content["Location"], content["CodeSha256"])
        layer_paths += layer_import_paths(layer_dir, config.get("Runtime") or LAMBDA_RUNTIME)
    return Deployment(
        function_name=config["FunctionName"],
        version=config.get("Version") or "$LATEST",
        function_arn=config["FunctionArn"].split(":function:")[0] + ":function:" + config["FunctionName"],
        handler=config["Handler"],
        runtime=config.get("Runtime") or LAMBDA_RUNTIME,
        timeout_s=float(config.get("Timeout") or 3),
        memory_mb=int(config.get("MemorySize") or 128),
        environment=tuple(sorted(((config.get("Environment") or {}).get("Variables") or {}).items())),
        code_dir=str(code_dir),
        layer_paths=tuple(layer_paths),
        tracing_active=(config.get("TracingConfig") or {}).get("Mode") == "Active",
    )
