"""A partial build (what `make run`'s hot reload does after a save) writes exactly the zips a full
build would, and keeps the rest of the manifest: Terraform sees the same artifacts either way."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from scripts.build import ROOT, build


def _manifest(out: Path) -> dict:
    return json.loads((out / "manifest.json").read_text())


def test_a_partial_build_equals_a_full_build_of_the_same_tree(tmp_path: Path) -> None:
    functions = tmp_path / "functions"
    shutil.copytree(ROOT / "functions", functions, ignore=shutil.ignore_patterns("__pycache__"))
    before = _manifest(build("host", False, out=tmp_path / "a", functions_dir=functions))
    handler = functions / "get_item" / "handler.py"
    handler.write_text(handler.read_text() + "\n# edited\n")
    out = build("host", False, out=tmp_path / "a", functions_dir=functions, only=["get_item"], layer=False)
    partial = _manifest(out)
    full = _manifest(build("host", False, out=tmp_path / "b", functions_dir=functions))
    assert partial == full
    changed = [
        name for name in before["functions"] if before["functions"][name] != partial["functions"][name]
    ]
    assert changed == ["get_item"]
    assert partial["layer"] == before["layer"]
    assert (out / "functions" / "get_item.zip").read_bytes() == (
        tmp_path / "b" / "host" / "functions" / "get_item.zip"
    ).read_bytes()


def test_without_a_manifest_to_extend_everything_is_built(tmp_path: Path) -> None:
    out = build("host", False, out=tmp_path, only=["get_item"], layer=False)
    manifest = _manifest(out)
    names = sorted(p.parent.name for p in (ROOT / "functions").glob("*/function.json"))
    assert sorted(manifest["functions"]) == names
    assert (out / "layer.zip").exists()
