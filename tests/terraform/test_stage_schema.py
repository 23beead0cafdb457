"""Stage files against terraform/stages/stage.schema.json, and Terraform's typed view of them
(terraform/modules/stage): a typo or a wrong type fails naming the file, the field and why."""

from __future__ import annotations

import json
import shutil
from functools import cache
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator

from scripts import tf
from tests.terraform.harness import STAGES, TF_ROOT

STAGES_DIR = TF_ROOT / "stages"
SCHEMA_FILE = STAGES_DIR / "stage.schema.json"
STAGE_FILES = sorted(p for p in STAGES_DIR.glob("*.json") if p != SCHEMA_FILE)


@cache
def schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())


def _load(path: Path) -> dict[str, Any]:
    return json.loads(path.read_text())


def schema_errors(filename: str, settings: Any) -> list[str]:
    """Each way settings break the schema, as '<file>: <field path>: <why>'."""
    errors = Draft202012Validator(schema()).iter_errors(settings)
    lines = []
    for error in sorted(errors, key=lambda e: [str(p) for p in e.absolute_path]):
        field = ".".join(str(p) for p in error.absolute_path) or "(top level)"
        lines.append(f"{filename}: {field}: {error.message}")
    return lines


def _resolve(node: dict[str, Any]) -> dict[str, Any]:
    """A subschema with its local $ref (#/$defs/<name>) merged in."""
    ref = node.get("$ref")
    if ref is None:
        return node
    target = schema()["$defs"][ref.removeprefix("#/$defs/")]
    return {**target, **{k: v for k, v in node.items() if k != "$ref"}}


def _subschemas(node: Any) -> list[dict[str, Any]]:
    """Every object in the schema document, recursively."""
    if isinstance(node, dict):
        return [node] + [s for v in node.values() for s in _subschemas(v)]
    if isinstance(node, list):
        return [s for v in node for s in _subschemas(v)]
    return []


def with_defaults(node: dict[str, Any], value: Any) -> Any:
    """value with every absent property set to its schema default (null where none): what Terraform's
    optional() attributes turn a stage file into."""
    node = _resolve(node)
    if isinstance(value, dict) and "properties" in node:
        return {
            key: with_defaults(sub, value[key]) if key in value else _resolve(sub).get("default")
            for key, sub in node["properties"].items()
        }
    if isinstance(value, dict) and isinstance(node.get("additionalProperties"), dict):
        return {key: with_defaults(node["additionalProperties"], v) for key, v in value.items()}
    if isinstance(value, list) and "items" in node:
        return [with_defaults(node["items"], v) for v in value]
    return value


def without_optional(node: dict[str, Any], value: Any) -> Any:
    """value with every property the schema does not require removed, recursively."""
    node = _resolve(node)
    if isinstance(value, dict) and "properties" in node:
        required = set(node.get("required", []))
        return {
            key: without_optional(node["properties"][key], v) for key, v in value.items() if key in required
        }
    if isinstance(value, dict) and isinstance(node.get("additionalProperties"), dict):
        return {key: without_optional(node["additionalProperties"], v) for key, v in value.items()}
    if isinstance(value, list) and "items" in node:
        return [without_optional(node["items"], v) for v in value]
    return value


def _differences(terraform: Any, schema_view: Any, path: str = "") -> list[str]:
    """Where Terraform's typed settings and the schema's reading of a file differ, field by field."""
    if isinstance(terraform, dict) and isinstance(schema_view, dict):
        return [
            d
            for key in sorted(set(terraform) | set(schema_view))
            for d in _differences(
                terraform.get(key, "<absent>"), schema_view.get(key, "<absent>"), f"{path}.{key}"
            )
        ]
    if terraform != schema_view:
        return [f"{path.lstrip('.')}: Terraform {terraform!r}, schema {schema_view!r}"]
    return []


def test_schema_is_draft_2020_12_and_valid() -> None:
    assert schema()["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    Draft202012Validator.check_schema(schema())


def test_every_object_in_the_schema_rejects_unknown_keys() -> None:
    for node in _subschemas(schema()):
        if "properties" in node:
            assert node.get("additionalProperties") is False, f"{sorted(node['properties'])}"
        if isinstance(node.get("additionalProperties"), dict):
            assert "propertyNames" in node, f"a map without a key pattern: {node.get('description')}"


def test_every_field_says_what_it_means() -> None:
    for node in _subschemas(schema()):
        for name, sub in node.get("properties", {}).items():
            assert _resolve(sub).get("description"), f"property {name} has no description"


def test_the_plan_tests_cover_every_stage_file() -> None:
    assert sorted(p.stem for p in STAGE_FILES) == sorted(STAGES)


@pytest.mark.parametrize("path", STAGE_FILES, ids=lambda p: p.name)
def test_stage_file_matches_the_schema(path: Path) -> None:
    errors = schema_errors(path.name, _load(path))
    assert not errors, "\n".join(errors)


def test_a_typo_fails_naming_the_file_the_field_and_why() -> None:
    settings = _load(STAGES_DIR / "local.json")
    settings["table"]["pitrr"] = settings["table"].pop("pitr")
    errors = schema_errors("local.json", settings)
    assert errors == [
        "local.json: table: Additional properties are not allowed ('pitrr' was unexpected)",
        "local.json: table: 'pitr' is a required property",
    ]


def test_a_wrong_type_fails_naming_the_file_the_field_and_why() -> None:
    settings = _load(STAGES_DIR / "local.json")
    settings["api"]["throttle"]["burst_limit"] = "2000"
    settings["usage_plans"]["tight"]["quota"]["period"] = "HOUR"
    settings["kms_deletion_window_days"] = 3
    assert schema_errors("local.json", settings) == [
        "local.json: api.throttle.burst_limit: '2000' is not of type 'integer'",
        "local.json: kms_deletion_window_days: 3 is less than the minimum of 7",
        "local.json: usage_plans.tight.quota.period: 'HOUR' is not one of ['DAY', 'WEEK', 'MONTH']",
    ]


def _typed_root(tmp_path: Path, files: dict[str, Any]) -> tf.Terraform:
    """A root module that passes each file through modules/stage, as terraform/main.tf does, and
    outputs the typed settings by file name."""
    root = tmp_path / "root"
    shutil.copytree(TF_ROOT / "modules" / "stage", root / "stage")
    blocks = []
    for name, settings in files.items():
        (root / f"{name}.json").write_text(json.dumps(settings))
        blocks.append(
            f'module "{name}" {{\n  source   = "./stage"\n'
            f'  settings = jsondecode(file("${{path.module}}/{name}.json"))\n}}\n'
        )
    outputs = ", ".join(f"{name} = module.{name}.settings" for name in files)
    (root / "main.tf").write_text("".join(blocks) + f'output "typed" {{\n  value = {{ {outputs} }}\n}}\n')
    runner = tf.Terraform(data_dir=tmp_path / "data", state_dir=tmp_path / "state", root=root)
    runner.run("init", "-input=false", "-no-color")
    return runner


@pytest.mark.terraform
def test_terraform_reads_every_field_and_default_of_every_stage_file(tmp_path: Path) -> None:
    files: dict[str, Any] = {}
    for path in STAGE_FILES:
        settings = _load(path)
        files[path.stem] = settings
        files[f"{path.stem}_minimal"] = without_optional(schema(), settings)
    runner = _typed_root(tmp_path, files)
    runner.run("apply", "-auto-approve", "-input=false", "-no-color")
    typed = runner.output()["typed"]
    for name, settings in files.items():
        differences = _differences(typed[name], with_defaults(schema(), settings))
        assert not differences, (
            f"{name}: Terraform's type (modules/stage) and the schema disagree:\n" + "\n".join(differences)
        )


@pytest.mark.terraform
def test_a_wrong_type_or_a_missing_field_fails_the_plan_with_terraforms_message(tmp_path: Path) -> None:
    wrong_type = _load(STAGES_DIR / "local.json")
    wrong_type["table"]["pitr"] = "sometimes"
    missing = _load(STAGES_DIR / "local.json")
    del missing["audit"]["force_destroy"]
    runner = _typed_root(tmp_path, {"wrong_type": wrong_type, "missing": missing})
    proc = runner.run("plan", "-input=false", "-no-color", check=False)
    text = " ".join(proc.stderr.split())
    assert proc.returncode != 0
    # Terraform names a missing attribute but not where a wrong type sits: the schema test does.
    declared = "var.settings declared at stage/variables.tf:1,1-20:"
    assert f"module.wrong_type.{declared} a bool is required." in text, text
    missing = 'attribute "audit": attribute "force_destroy" is required.'
    assert f"module.missing.{declared} {missing}" in text, text
