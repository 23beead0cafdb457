"""What a set of saved files asks for: new code for some functions, a new layer, or a Terraform apply.

The split follows what Terraform reads. Manifests (`function.json`), the API's JSON Schemas, the
table's key design, the stage's settings and the Terraform code itself describe infrastructure, so
they go through `terraform apply`. Everything else under a function's folder is that function's
zip; everything else under `shared/apikit/` (and the layer's pinned requirements) is the layer.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from scripts.build import SKIP_DIRS, SKIP_SUFFIXES

# Files Terraform or the deploy scripts write into the root module: never a user's edit.
_TERRAFORM_NOISE = (".terraform.lock.hcl",)
_EDITOR_NOISE = ("~", ".swp", ".swx", ".tmp", ".bak")


@dataclass
class Changes:
    """What one batch of saves needs; ``merge`` folds a later batch into an earlier one."""

    functions: set[str] = field(default_factory=set)  # function folders whose zip changes
    layer: bool = False
    infra: list[str] = field(default_factory=list)  # repo-relative paths that need terraform apply
    sources: set[Path] = field(default_factory=set)  # changed .py files (compiled before anything ships)

    def merge(self, other: Changes) -> None:
        self.functions |= other.functions
        self.layer = self.layer or other.layer
        self.infra += [p for p in other.infra if p not in self.infra]
        self.sources |= other.sources

    @property
    def empty(self) -> bool:
        return not (self.functions or self.layer or self.infra)


def _ignored(rel: Path) -> bool:
    name = rel.name
    return (
        any(part in SKIP_DIRS or part.startswith(".") for part in rel.parts[:-1])
        or name.startswith((".", "#"))
        or name.endswith(_EDITOR_NOISE)
        or rel.suffix in SKIP_SUFFIXES
    )


def _terraform_infra(rel: Path, stage: str) -> bool:
    """A file of the root module or its modules that changes what `terraform apply` does to ``stage``."""
    name = rel.name
    if name in _TERRAFORM_NOISE or name.startswith("zz_") or name.endswith("override.tf.json"):
        return False
    if rel.parts[1:2] == ("stages",):
        # Another stage's settings never change this stage's plan; the schema checks every stage.
        return name in (f"{stage}.json", "stage.schema.json")
    return name.endswith((".tf", ".tf.json"))


def _function_change(rel: Path, root: Path, changes: Changes) -> None:
    """functions/<name>/...: the manifest is infrastructure; any other file is the function's code."""
    folder = root / "functions" / rel.parts[1]
    if rel.parts[2:] == ("function.json",):
        changes.infra.append(rel.as_posix())
    elif (folder / "function.json").exists():
        changes.functions.add(rel.parts[1])
    elif not folder.exists():
        changes.infra.append(rel.as_posix())  # a function folder was removed
    # else: a folder without a manifest is no function (yet); its manifest's arrival is infrastructure


def _layer_change(rel: Path, changes: Changes) -> None:
    """shared/apikit/...: API models and the table's keys are infrastructure; the rest is the layer."""
    if rel.parts[2:3] == ("schemas",) or rel.parts[2:] == ("table.json",):
        changes.infra.append(rel.as_posix())
    else:
        changes.layer = True


def classify(paths: Iterable[Path], root: Path, stage: str) -> Changes:
    """Sort changed paths (absolute, as a watcher reports them) into a ``Changes``."""
    changes = Changes()
    for path in paths:
        rel = path.relative_to(root) if path.is_relative_to(root) else None
        if rel is None or len(rel.parts) < 2 or _ignored(rel):
            continue
        top = rel.parts[0]
        if top == "functions" and len(rel.parts) >= 3:
            _function_change(rel, root, changes)
        elif top == "shared" and rel.parts[1] == "apikit" and len(rel.parts) >= 3:
            _layer_change(rel, changes)
        elif top == "terraform" and _terraform_infra(rel, stage):
            changes.infra.append(rel.as_posix())
        elif rel.as_posix() == "requirements/layer.txt":
            changes.layer = True
        else:
            continue
        if rel.suffix == ".py" and path.exists():
            changes.sources.add(path)
    return changes
