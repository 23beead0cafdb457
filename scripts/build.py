"""Build deterministic Lambda artifacts: the shared layer and one zip per function (design.md §6).

Deterministic (sorted entries, fixed timestamps and modes) so that unchanged code keeps its sha256 and
Terraform does not redeploy it. The pip step is cached by the content of ``requirements/layer.txt`` and
the target platform, so a rebuild takes well under a second.

Bytecode ships in every zip. Lambda's /opt and /var/task are read-only, so without it every cold start
compiles the layer from source (measured: +20 ms for get_item, +90 ms for create_item). The .pyc files
are compiled by the target's interpreter (python3.12 for ``lambda``, see scripts/lambda_python.py) in
``unchecked-hash`` mode: no timestamps, so the zips stay reproducible. Without such an interpreter the
zips carry sources only, and the build says so.

    python scripts/build.py [--target lambda|host] [--bundle-layer] [--out build]
"""

from __future__ import annotations

import argparse
import functools
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Collection, Iterable, Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as `python scripts/build.py`
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from scripts.lambda_python import find_lambda_python

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
SHARED = ROOT / "shared"
LAYER_REQUIREMENTS = ROOT / "requirements" / "layer.txt"
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache", "tests"}
SKIP_SUFFIXES = (".pyc", ".pyo")

# pip arguments per target: `lambda` fetches wheels for the Lambda runtime whatever the host is;
# `host` installs the running interpreter's own wheels (the embedded stack runs code on this host).
TARGETS: dict[str, list[str]] = {
    "lambda": [
        "--platform",
        "manylinux2014_x86_64",
        "--python-version",
        "3.12",
        "--implementation",
        "cp",
        "--only-binary=:all:",
    ],
    "host": [],
}


def _walk(base: Path, pyc_tag: str | None = None) -> Iterator[Path]:
    """Yield files under base, sorted, without caches; with ``pyc_tag``, keep that interpreter's .pyc."""
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base)
        if pyc_tag and rel.parent.name == "__pycache__" and path.name.endswith(f".{pyc_tag}.pyc"):
            if not any(part in SKIP_DIRS - {"__pycache__"} for part in rel.parts):
                yield path
            continue
        if any(part in SKIP_DIRS for part in rel.parts) or path.suffix in SKIP_SUFFIXES:
            continue
        if path.is_file():
            yield path


def _entries(base: Path, prefix: str, pyc_tag: str | None = None) -> Iterator[tuple[str, Path]]:
    for path in _walk(base, pyc_tag):
        yield prefix + path.relative_to(base).as_posix(), path


# Compiles (source, path shown in tracebacks) pairs read from stdin next to their sources.
_COMPILE = """
import importlib.util, json, py_compile, sys
failed = 0
for src, shown in json.load(sys.stdin):
    try:
        py_compile.compile(src, cfile=importlib.util.cache_from_source(src), dfile=shown, doraise=True,
                           invalidation_mode=py_compile.PycInvalidationMode.UNCHECKED_HASH)
    except py_compile.PyCompileError:
        failed += 1
print(sys.implementation.cache_tag, failed)
"""


@functools.cache  # probed once per process: `make run` rebuilds on every save
def bytecode_python(target: str) -> str | None:
    """The interpreter whose bytecode the target runs: the host's, or Lambda's python3.12 if present."""
    if target == "host":
        return sys.executable
    python = find_lambda_python()
    if python is None:
        return None
    probe = subprocess.run(
        [python, "-c", "import sys; print(sys.version_info[:2] == (3, 12))"],
        capture_output=True,
        text=True,
        check=False,
    )
    return python if probe.stdout.strip() == "True" else None


def compile_trees(python: str, trees: list[tuple[Path, str]]) -> str:
    """Write unchecked-hash .pyc files beside every .py of each (root, path Lambda shows) tree.

    One interpreter start for all trees; returns its cache tag (e.g. ``cpython-312``).
    """
    pairs = [
        (str(p), f"{shown_root}/{p.relative_to(root).as_posix()}")
        for root, shown_root in trees
        for p in sorted(root.rglob("*.py"))
        if "__pycache__" not in p.parts
    ]
    done = subprocess.run(
        [python, "-c", _COMPILE], input=json.dumps(pairs), capture_output=True, text=True, check=True
    )
    tag, failed = done.stdout.split()
    if int(failed):  # third-party test fixtures with deliberate syntax errors, at most: sources still work
        print(f"build: {failed} file(s) did not compile; they ship as source", file=sys.stderr)
    return tag


def write_zip(target: Path, entries: Iterable[tuple[str, Path]]) -> str:
    """Write a reproducible zip from (archive name, source file) pairs; return its sha256 hex."""
    target.parent.mkdir(parents=True, exist_ok=True)
    # A unique temporary name, then an atomic rename: concurrent builds never see half a zip.
    fd, tmp_name = tempfile.mkstemp(dir=target.parent, prefix=f".{target.stem}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp_name)
    seen: set[str] = set()
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
        for name, src in sorted(entries, key=lambda e: e[0]):
            if name in seen:  # bundled layer files never shadow the function's own files
                continue
            seen.add(name)
            info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
            info.create_system = 3  # unix, so external_attr carries the mode
            mode = 0o755 if os.access(src, os.X_OK) and src.suffix not in {".py", ".json"} else 0o644
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, src.read_bytes())
    digest = hashlib.sha256(tmp.read_bytes()).hexdigest()
    tmp.chmod(0o644)
    tmp.replace(target)
    return digest


def _pip_site(target: str, cache_root: Path) -> Path:
    """Install the layer's pinned requirements once per (requirements, target, interpreter) key."""
    key_material = LAYER_REQUIREMENTS.read_bytes() + json.dumps(TARGETS[target]).encode()
    if target == "host":
        key_material += sys.version.encode() + sys.platform.encode()
    key = hashlib.sha256(key_material).hexdigest()[:16]
    site = cache_root / f"{target}-{key}"
    if (site / ".complete").exists():
        return site
    cache_root.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=cache_root) as tmp:
        staging = Path(tmp) / "site"
        cmd = [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--disable-pip-version-check",
            "--no-deps",
            "--no-compile",
            "--target",
            str(staging),
            *TARGETS[target],
            "-r",
            str(LAYER_REQUIREMENTS),
        ]
        subprocess.run(cmd, check=True)
        # pip's --target leaves a bin/ of console scripts with absolute shebangs: useless in Lambda.
        shutil.rmtree(staging / "bin", ignore_errors=True)
        (staging / ".complete").write_text("ok\n")
        cache_root.mkdir(parents=True, exist_ok=True)
        try:
            staging.rename(site)
        except OSError:
            if not (site / ".complete").exists():  # not a concurrent build that finished first
                raise
    return site


def _compiled_site(site: Path, python: str | None) -> str | None:
    """Compile the cached pip site once per interpreter (a marker file says it is done)."""
    if python is None:
        return None
    for marker in site.glob(".bytecode-*"):
        return marker.name.removeprefix(".bytecode-")
    tag = compile_trees(python, [(site, "/opt/python")])
    (site / f".bytecode-{tag}").write_text("ok\n")
    return tag


def _stage(src: Path, dest: Path) -> Path:
    shutil.copytree(src, dest, ignore=shutil.ignore_patterns(*SKIP_DIRS, "*.pyc", "*.pyo"))
    return dest


def layer_entries(site: Path, apikit: Path, prefix: str, pyc_tag: str | None) -> list[tuple[str, Path]]:
    """The layer's files: the apikit package and its pinned dependencies (with their bytecode)."""
    entries = list(_entries(apikit, prefix + "apikit/", pyc_tag))
    entries += [(name, p) for name, p in _entries(site, prefix, pyc_tag) if "/.complete" not in name]
    return [(n, p) for n, p in entries if not n.removeprefix(prefix).startswith((".complete", ".bytecode-"))]


def function_names(functions_dir: Path = FUNCTIONS) -> list[str]:
    return sorted(p.parent.name for p in functions_dir.glob("*/function.json"))


def artifact_dir(target: str, bundle_layer: bool = False, out: Path | None = None) -> Path:
    """Where ``build`` writes a target's artifacts (and their manifest.json)."""
    return (out or ROOT / "build") / (f"{target}-bundled" if bundle_layer else target)


def _previous_manifest(
    out_dir: Path, bundle_layer: bool, bytecode: str | None, kept: list[str]
) -> dict[str, Any] | None:
    """The manifest a partial build extends: one of the same layout and bytecode, listing every kept
    function; None means build everything."""
    try:
        manifest = json.loads((out_dir / "manifest.json").read_text())
    except (OSError, ValueError):
        return None
    same = manifest.get("bundle_layer") == bundle_layer and manifest.get("bytecode") == bytecode
    if not same or any(name not in manifest.get("functions", {}) for name in kept):
        return None
    return manifest


def _write_manifest(out_dir: Path, manifest: dict[str, Any]) -> None:
    fd, tmp_name = tempfile.mkstemp(dir=out_dir, prefix=".manifest.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    Path(tmp_name).chmod(0o644)
    Path(tmp_name).replace(out_dir / "manifest.json")


def build(
    target: str = "lambda",
    bundle_layer: bool = False,
    out: Path | None = None,
    functions_dir: Path = FUNCTIONS,
    *,
    only: Collection[str] | None = None,
    layer: bool = True,
) -> Path:
    """Build the artifacts for a target; return the output directory (holding manifest.json).

    ``only`` (function names) and ``layer=False`` rebuild just those zips, byte for byte as a full
    build would, and keep the other entries of the existing manifest: the hot reload of `make run`
    rebuilds what a save touched. Without a manifest to extend, everything is built.
    """
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}: choose one of {sorted(TARGETS)}")
    out_dir = artifact_dir(target, bundle_layer, out)
    names = function_names(functions_dir)
    site = _pip_site(target, ROOT / "build" / ".pip-cache")
    python = bytecode_python(target)
    site_tag = _compiled_site(site, python)
    if python is None:
        print(
            "build: no python3.12 here (set LAMBDA_PYTHON): zips carry sources only, "
            "so Lambda will compile them at every cold start",
            file=sys.stderr,
        )
    kept = [name for name in names if only is not None and name not in only]
    if layer and bundle_layer:
        kept = []  # every function zip carries the layer
    previous = _previous_manifest(out_dir, bundle_layer, site_tag, kept) if kept or not layer else None
    if previous is None:
        kept, layer = [], True
    rebuilt = [name for name in names if name not in kept]
    with tempfile.TemporaryDirectory(prefix="build-") as tmp:
        staged = Path(tmp)
        apikit = _stage(SHARED / "apikit", staged / "python" / "apikit") if layer or bundle_layer else None
        handlers = {name: _stage(functions_dir / name, staged / "functions" / name) for name in rebuilt}
        tag = None
        if python is not None:
            trees = [(path, "/var/task") for path in handlers.values()]
            if apikit is not None:
                trees.insert(0, (apikit, "/opt/python/apikit"))
            tag = compile_trees(python, trees) if trees else site_tag
            if tag != site_tag:
                raise RuntimeError(f"bytecode tags differ: layer site {site_tag}, sources {tag}")
        manifest: dict[str, Any] = {
            "target": target,
            "bundle_layer": bundle_layer,
            "architecture": "x86_64",
            "bytecode": tag,
        }
        if previous is not None and not layer:
            manifest["layer"] = previous["layer"]
        else:
            assert apikit is not None
            entries = layer_entries(site, apikit, "python/", tag)
            manifest["layer"] = {"path": "layer.zip", "sha256": write_zip(out_dir / "layer.zip", entries)}
        bundled = layer_entries(site, apikit, "", tag) if apikit is not None and bundle_layer else []
        functions = {name: previous["functions"][name] for name in kept} if previous is not None else {}
        for name, staged_dir in handlers.items():
            rel = f"functions/{name}.zip"
            entries = list(_entries(staged_dir, "", tag)) + bundled
            functions[name] = {"path": rel, "sha256": write_zip(out_dir / rel, entries)}
        functions = dict(sorted(functions.items()))
    # Drop zips of functions that no longer exist, so Terraform never sees stale artifacts.
    for stale in (out_dir / "functions").glob("*.zip"):
        if stale.stem not in functions:
            stale.unlink()
    manifest["functions"] = functions
    _write_manifest(out_dir, manifest)
    return out_dir


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--target", choices=sorted(TARGETS), default="lambda")
    parser.add_argument(
        "--bundle-layer", action="store_true", help="also put the layer into every function zip"
    )
    parser.add_argument("--out", type=Path, default=None, help="output root (default: build/)")
    args = parser.parse_args(argv)
    out_dir = build(args.target, args.bundle_layer, args.out)
    print(out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())
