"""The saved state of a stopped embedded stack: one file, written atomically, checked before use.

``<state dir>/snapshot.zip`` holds three members, each checked against the sha256 in the manifest:

- ``manifest.json``: format, when, the fingerprint of everything the deployment depended on (with
  one digest per part, so a mismatch can say what changed), the moto endpoint the state was deployed
  at (SQS queue URLs carry its port), and each stream mapping's checkpoint;
- ``moto.pickle``: every moto backend (``moto_server.persistence``);
- ``terraform.tfstate``: Terraform's state of the `local` workspace at the same moment.

The file is written to a temporary name, fsynced and renamed over the old one, so a crash leaves the
old snapshot or the new one, never a mix. Anything unexpected on reading raises ``Untrusted`` with a
reason the console prints.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moto import __version__ as MOTO_VERSION

REPO_ROOT = Path(__file__).resolve().parents[1]
FILE_NAME = "snapshot.zip"
FORMAT = 1
_MEMBERS = ("moto.pickle", "terraform.tfstate")
# The fingerprint part a run adds when it deployed while serving (restart.SavedState.diverging):
# no tree has it, so the next run's restart always applies.
HOT_RELOAD = "hot reload"
# Never part of what a deployment depends on: caches, Terraform's own files, the endpoint override.
_SKIP_DIRS = {"__pycache__", ".pytest_cache", ".ruff_cache", ".terraform", "terraform.tfstate.d"}
_SKIP_NAME_PARTS = (".tfstate", "zz_local_override", ".terraform.lock.hcl", ".pyc")


class Untrusted(Exception):
    """The saved state cannot be used; ``str()`` says why, for the console."""


def _tree_digest(base: Path, *, without: str = "") -> str:
    digest = hashlib.sha256()
    for path in sorted(base.rglob("*")):
        rel = path.relative_to(base)
        if not path.is_file() or _SKIP_DIRS.intersection(rel.parts) or (without and rel.parts[0] == without):
            continue
        if any(part in path.name for part in _SKIP_NAME_PARTS):
            continue
        digest.update(f"{rel.as_posix()}\0{path.stat().st_mode & 0o111}\0".encode())
        digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()


def _text_digest(*texts: str) -> str:
    return hashlib.sha256("\0".join(texts).encode()).hexdigest()


def source_parts() -> dict[str, str]:
    """The sources a deployment is made from (part name -> sha256 hex); taken before it starts.

    Terraform's root module and modules, the stage files, the manifests and handlers, the layer and
    its schemas, moto's version and our patches to it, the deploy scripts, and this Python (pickles
    are read back by the same one).
    """
    scripts = [REPO_ROOT / "scripts" / name for name in ("tf.py", "build.py")]
    return {
        "terraform": _tree_digest(REPO_ROOT / "terraform", without="stages"),
        "stage files": _tree_digest(REPO_ROOT / "terraform" / "stages"),
        "functions": _tree_digest(REPO_ROOT / "functions"),
        "shared layer": _tree_digest(REPO_ROOT / "shared"),
        "moto and our patches": _text_digest(
            MOTO_VERSION, _tree_digest(REPO_ROOT / "embedded_stack" / "moto_server")
        ),
        "deploy scripts": _text_digest(*(p.read_text() for p in scripts)),
        "python": _text_digest(sys.version, str(FORMAT)),
    }


def build_parts(artifact_dir: Path, data_dir: Path) -> dict[str, str]:
    """What the deploy built and installed: the artifacts (their manifest lists every zip's sha256, so
    the layer's pinned requirements and the build target are in it) and Terraform's provider."""
    providers = sorted(
        p.relative_to(data_dir).as_posix() for p in (data_dir / "providers").glob("*/*/*/*/*") if p.is_dir()
    )
    return {
        "built artifacts": hashlib.sha256((artifact_dir / "manifest.json").read_bytes()).hexdigest(),
        "terraform provider": _text_digest(*providers),
    }


def changed_parts(saved: dict[str, str], current: dict[str, str]) -> list[str]:
    """The names of the parts whose digests differ (or exist on one side only)."""
    return sorted(name for name in set(saved) | set(current) if saved.get(name) != current.get(name))


@dataclass
class Snapshot:
    """What a stopped stack saved; ``moto_state`` and ``tfstate`` are the raw members."""

    fingerprint: dict[str, str]
    endpoint_url: str
    checkpoints: dict[tuple[str, str], str]
    created_at: float
    moto_state: bytes = field(repr=False)
    tfstate: bytes = field(repr=False)

    @property
    def port(self) -> int:
        return int(self.endpoint_url.rsplit(":", 1)[1].split("/", 1)[0])

    def outputs(self) -> dict[str, Any]:
        """Terraform's outputs as plain values, read from the saved state (no terraform run)."""
        document = json.loads(self.tfstate)
        return {name: item["value"] for name, item in (document.get("outputs") or {}).items()}


def save(path: Path, snapshot: Snapshot) -> None:
    """Write ``snapshot`` to ``path`` atomically: complete and fsynced before it replaces the old one."""
    members = {"moto.pickle": snapshot.moto_state, "terraform.tfstate": snapshot.tfstate}
    manifest = {
        "format": FORMAT,
        "created_at": snapshot.created_at,
        "fingerprint": snapshot.fingerprint,
        "endpoint_url": snapshot.endpoint_url,
        "checkpoints": [[uuid, shard, seq] for (uuid, shard), seq in sorted(snapshot.checkpoints.items())],
        "sha256": {name: hashlib.sha256(data).hexdigest() for name, data in members.items()},
    }
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        # Owner-only: it holds API key values and KMS key material, as Terraform's state does.
        with os.fdopen(os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as handle:
            with zipfile.ZipFile(handle, "w", compression=zipfile.ZIP_STORED) as archive:
                for name, data in members.items():
                    archive.writestr(name, data)
                archive.writestr(
                    "manifest.json", json.dumps(manifest, indent=2)
                )  # last: a torn file lacks it
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    directory = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a power cut
    finally:
        os.close(directory)


def load(path: Path) -> Snapshot:
    """Read and check a snapshot; ``Untrusted`` when it is missing, torn, altered or of another format."""
    if not path.exists():
        raise Untrusted("no saved state")
    try:
        with zipfile.ZipFile(path) as archive:
            manifest = json.loads(archive.read("manifest.json"))
            members = {name: archive.read(name) for name in _MEMBERS}
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, EOFError) as exc:
        raise Untrusted(f"the saved state is unreadable (partial or corrupted: {exc})") from exc
    if manifest.get("format") != FORMAT:
        raise Untrusted(f"the saved state has format {manifest.get('format')!r}, this version reads {FORMAT}")
    for name, data in members.items():
        if hashlib.sha256(data).hexdigest() != (manifest.get("sha256") or {}).get(name):
            raise Untrusted(f"the saved state is corrupted ({name} does not match its checksum)")
    return Snapshot(
        fingerprint=dict(manifest["fingerprint"]),
        endpoint_url=str(manifest["endpoint_url"]),
        checkpoints={(uuid, shard): seq for uuid, shard, seq in manifest.get("checkpoints") or []},
        created_at=float(manifest["created_at"]),
        moto_state=members["moto.pickle"],
        tfstate=members["terraform.tfstate"],
    )


def age(snapshot: Snapshot) -> str:
    """When it was saved, for the console (local time)."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(snapshot.created_at))
