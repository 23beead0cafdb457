"""A Lambda-like import environment on this machine: task root, layer, runtime, environment variables.

Lambda's Python runtime puts the function's folder, then the layer's `python/` folder, then the runtime's
own site-packages (which bundles boto3) on sys.path, and sets variables such as LAMBDA_TASK_ROOT and
AWS_LAMBDA_FUNCTION_NAME that libraries read at import (aws-xray-sdk picks a cheap local sampler when it
sees them). Workers start with `python -I -S` and get exactly these paths, so nothing from the
development virtualenv leaks into a measured import.
"""

import hashlib
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import boto3

REPO = Path(__file__).resolve().parent.parent
# Outside the repository on purpose: linters and formatters must never walk into copies of libraries.
CACHE = Path(os.environ.get("BENCH_CACHE_DIR") or Path.home() / ".cache" / "partner-items-bench")

# What the Lambda Python runtime ships besides the standard library (boto3 and its dependencies).
RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six.py")
# What the Powertools baseline would ship in its own package (it is not our layer's business).
POWERTOOLS_PACKAGES = (
    "aws_lambda_powertools",
    "aws_xray_sdk",
    "wrapt",
    "fastjsonschema",
    "typing_extensions.py",
)
# Modules the Lambda runtime bootstrap (awslambdaric) has imported before it imports the handler.
RUNTIME_PRELUDE = (
    "decimal",
    "importlib",
    "json",
    "logging",
    "math",
    "os",
    "socket",
    "sys",
    "time",
    "traceback",
    "warnings",
)

Log = Callable[[str], None]


def _venv_site_packages() -> Path:
    """The dev venv has the Lambda runtime's packages; link them rather than install them again."""
    return Path(boto3.__file__).resolve().parent.parent


@dataclass(frozen=True)
class Sandbox:
    """Where each kind of code comes from in a measured interpreter."""

    python: str  # the interpreter of every measured container: python3.12 (Lambda's) when available
    python_version: str
    shipped_layer: Path  # exactly as the zip ships it; never written to (workers run with -B)
    bytecode_layer: Path  # the same files, with bytecode caches written by a warm-up run
    runtime_path: Path
    powertools_path: Path
    layer_source: str

    def sys_path(self, task_root: Path, kind: str, shipped: bool) -> list[str]:
        """sys.path for a handler of `kind` ('ours', 'powertools' or 'plain') whose folder is task_root."""
        paths = [task_root]
        if kind == "ours":
            paths.append(self.shipped_layer if shipped else self.bytecode_layer)
        elif kind == "powertools":
            paths.append(self.powertools_path)
        paths.append(self.runtime_path)
        return [str(p) for p in paths]


def _compiled_copy(kind: str, names: tuple[str, ...], python: str, version: str, log: Log) -> Path:
    """A copy of venv packages with bytecode for `python`, as the Lambda runtime ships its boto3.

    Copied rather than linked so that bytecode for the measured interpreter sits next to the sources,
    where an as-shipped layer's bytecode would sit too, and nothing is ever written into the venv.
    """
    site = _venv_site_packages()
    versions = []
    for name in names:
        dist_info = sorted(site.glob(f"{name.removesuffix('.py')}-*.dist-info"))
        versions.append(dist_info[-1].name if dist_info else name)
    target = CACHE / f"{kind}-{version}-{hashlib.sha256(repr(versions).encode()).hexdigest()[:12]}"
    if (target / ".complete").exists():
        return target
    log(f"  copying and compiling {kind} packages for Python {version} (once)")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in names:
        source = site / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    subprocess.run(  # noqa: S603 - an interpreter we located ourselves
        [python, "-I", "-m", "compileall", "-q", "-j0", str(target)], check=False, capture_output=True
    )
    (target / ".complete").write_text("\n".join(versions) + "\n")
    return target


def _digest(*paths: Path) -> str:
    sha = hashlib.sha256()
    for path in paths:
        sha.update(path.read_bytes())
    return sha.hexdigest()[:16]


def build_artifacts(target: str, log: Log) -> tuple[Path | None, str]:
    """Run scripts/build.py into the benchmark cache (never into build/, which `make run` reads).

    Returns the artifact folder (with layer.zip, functions/, manifest.json), or None and the reason.
    """
    build_script = REPO / "scripts" / "build.py"
    if not build_script.exists():
        return None, "scripts/build.py does not exist yet"
    out = CACHE / "build"
    log(f"  building artifacts: scripts/build.py --target {target} --out {out}")
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(build_script), "--target", target, "--out", str(out)],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    folder = out / target
    if done.returncode != 0 or not (folder / "layer.zip").exists():
        return (
            None,
            f"scripts/build.py --target {target} failed ({done.returncode}): {done.stderr.strip()[-300:]}",
        )
    return folder, f"scripts/build.py --target {target}"


def _extract(layer_zip: Path, target: Path) -> None:
    tmp = target.with_suffix(".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    with zipfile.ZipFile(layer_zip) as archive:
        archive.extractall(tmp)
    tmp.rename(target)


def _layers_from_build(log: Log, target: str) -> tuple[Path, Path, str] | None:
    folder, reason = build_artifacts(target, log)
    if folder is None:
        log(f"  {reason}; falling back to pip install requirements/layer.txt")
        return None
    layer_zip = folder / "layer.zip"
    digest = _digest(layer_zip)
    shipped, compiled = CACHE / f"layer-{digest}-shipped", CACHE / f"layer-{digest}-bytecode"
    for copy in (shipped, compiled):
        if not copy.exists():
            _extract(layer_zip, copy)
    return shipped / "python", compiled / "python", f"layer.zip of scripts/build.py --target {target}"


def _layers_from_requirements(log: Log) -> tuple[Path, Path, str]:
    requirements = REPO / "requirements" / "layer.txt"
    deps = CACHE / f"layer-deps-{_digest(requirements)}"
    if not deps.exists():
        log("  installing requirements/layer.txt into the benchmark cache (once)")
        tmp = deps.with_suffix(".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        subprocess.run(  # noqa: S603 - pip of our own interpreter
            [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
             "--no-deps", "--no-compile", "--target", str(tmp), "-r", str(requirements)],
            check=True,
        )  # fmt: skip
        tmp.rename(deps)
    copies = []
    for variant in ("shipped", "bytecode"):
        target = CACHE / f"layer-fallback-{variant}"
        shutil.rmtree(target, ignore_errors=True)
        shutil.copytree(deps, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        shutil.copytree(REPO / "shared" / "apikit", target / "apikit",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))  # fmt: skip
        copies.append(target)
    return copies[0], copies[1], "shared/apikit + pip install requirements/layer.txt (no scripts/build.py)"


def lambda_python() -> str | None:
    """Lambda's interpreter version here: $LAMBDA_PYTHON, python3.12 on PATH, or pyenv's 3.12."""
    explicit = os.environ.get("LAMBDA_PYTHON", "").strip()
    if explicit:
        return explicit
    on_path = shutil.which("python3.12")
    if on_path and "/.pyenv/shims/" not in on_path:
        return on_path
    pyenv = sorted(Path.home().glob(".pyenv/versions/3.12*/bin/python3.12"))
    return str(pyenv[-1]) if pyenv else on_path


def _version(python: str) -> str:
    done = subprocess.run(  # noqa: S603 - an interpreter we located ourselves
        [python, "-I", "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return done.stdout.strip()


def prepare(log: Log, use_build: bool = True) -> Sandbox:
    """Build (or reuse) the layer and the runtime folders the measured interpreters import from.

    With python3.12 (Lambda's runtime) the layer is the real `--target lambda` zip (manylinux cp312
    wheels); otherwise this interpreter and `--target host`.
    """
    CACHE.mkdir(parents=True, exist_ok=True)
    python = lambda_python()
    version = _version(python) if python else ""
    if version != "3.12" or not use_build:
        python, version = sys.executable, _version(sys.executable)
    target = "lambda" if version == "3.12" else "host"
    built = _layers_from_build(log, target) if use_build else None
    if built is None:
        python, version = sys.executable, _version(sys.executable)
    shipped, compiled, source = built or _layers_from_requirements(log)
    return Sandbox(
        python=python,
        python_version=version,
        shipped_layer=shipped,
        bytecode_layer=compiled,
        runtime_path=_compiled_copy("runtime", RUNTIME_PACKAGES, python, version, log),
        powertools_path=_compiled_copy("powertools", POWERTOOLS_PACKAGES, python, version, log),
        layer_source=source,
    )


def lambda_env(function_name: str, handler: str, task_root: Path, extra: dict[str, str]) -> dict[str, str]:
    """The variables the Lambda runtime and our Terraform set for a function (docs/design.md §1)."""
    env = {
        "PATH": "/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "TZ": ":UTC",
        "LAMBDA_TASK_ROOT": str(task_root),
        "LAMBDA_RUNTIME_DIR": str(task_root),
        "_HANDLER": handler,
        "AWS_EXECUTION_ENV": "AWS_Lambda_python3.12",
        "AWS_LAMBDA_FUNCTION_NAME": function_name,
        "AWS_LAMBDA_FUNCTION_VERSION": "1",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function_name}",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/25/[1]bench",
        "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_SESSION_TOKEN": "test",
        "AWS_XRAY_CONTEXT_MISSING": "IGNORE_ERROR",
        "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
        "STAGE": "bench",
        "LOG_LEVEL": "INFO",
        "CORS_ALLOWED_ORIGINS": "",
        "POWERTOOLS_SERVICE_NAME": "partner-items-bench",
        "TABLE_NAME": "bench-items",
        "SEED_TABLE_NAME": "bench-seed-items",
        "IDEMPOTENCY_TABLE_NAME": "bench-idempotency",
        "CURSOR_SECRET_ID": "bench-cursor-key",
        "CURSOR_KEY_CACHE_SECONDS": "300",
        "AUDIT_DELIVERY_STREAM": "bench-audit",
        "ITEM_SCHEMA_PATH": str(REPO / "shared" / "apikit" / "schemas" / "item_create.json"),
    }
    env.update(extra)
    return env
