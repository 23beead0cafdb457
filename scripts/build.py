"""Build deterministic Lambda artifacts: the shared layer and one zip per function (design.md §6).

Deterministic (sorted entries, fixed timestamps and modes, no bytecode) so that unchanged code keeps
its sha256 and Terraform's ``source_code_hash`` does not redeploy it. The pip step is cached by the
content of ``requirements/layer.txt`` and the target platform, so a rebuild takes well under a second.

    python scripts/build.py [--target lambda|host] [--bundle-layer] [--out build]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path

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


def _walk(base: Path) -> Iterator[Path]:
    """Yield files under base, sorted, without caches or bytecode."""
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base)
        if any(part in SKIP_DIRS for part in rel.parts) or path.suffix in SKIP_SUFFIXES:
            continue
        if path.is_file():
            yield path


def _entries(base: Path, prefix: str) -> Iterator[tuple[str, Path]]:
    for path in _walk(base):
        yield prefix + path.relative_to(base).as_posix(), path


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


def layer_entries(site: Path, prefix: str) -> list[tuple[str, Path]]:
    """The layer's files: the apikit package and its pinned dependencies."""
    entries = list(_entries(SHARED / "apikit", prefix + "apikit/"))
    entries += [(name, p) for name, p in _entries(site, prefix) if not name.endswith("/.complete")]
    return [(n, p) for n, p in entries if n != prefix + ".complete"]


def function_names(functions_dir: Path = FUNCTIONS) -> list[str]:
    return sorted(p.parent.name for p in functions_dir.glob("*/function.json"))


def build(
    target: str = "lambda",
    bundle_layer: bool = False,
    out: Path | None = None,
    functions_dir: Path = FUNCTIONS,
) -> Path:
    """Build every artifact for a target; return the output directory (holding manifest.json)."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}: choose one of {sorted(TARGETS)}")
    out_root = out or ROOT / "build"
    out_dir = out_root / (f"{target}-bundled" if bundle_layer else target)
    site = _pip_site(target, ROOT / "build" / ".pip-cache")
    layer = layer_entries(site, "python/")
    manifest: dict[str, object] = {
        "target": target,
        "bundle_layer": bundle_layer,
        "architecture": "x86_64",
        "layer": {"path": "layer.zip", "sha256": write_zip(out_dir / "layer.zip", layer)},
    }
    bundled = layer_entries(site, "") if bundle_layer else []
    functions: dict[str, dict[str, str]] = {}
    for name in function_names(functions_dir):
        rel = f"functions/{name}.zip"
        entries = list(_entries(functions_dir / name, "")) + bundled
        functions[name] = {"path": rel, "sha256": write_zip(out_dir / rel, entries)}
    # Drop zips of functions that no longer exist, so Terraform never sees stale artifacts.
    for stale in (out_dir / "functions").glob("*.zip"):
        if stale.stem not in functions:
            stale.unlink()
    manifest["functions"] = functions
    fd, tmp_name = tempfile.mkstemp(dir=out_dir, prefix=".manifest.", suffix=".tmp")
    with os.fdopen(fd, "w") as handle:
        handle.write(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    Path(tmp_name).chmod(0o644)
    Path(tmp_name).replace(out_dir / "manifest.json")
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
