"""Which saves are code (the fast path) and which are infrastructure (terraform apply)."""

from __future__ import annotations

from pathlib import Path

import pytest

from embedded_stack.reload.changes import Changes, classify


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    for name in ("get_item", "create_item"):
        (tmp_path / "functions" / name).mkdir(parents=True)
        (tmp_path / "functions" / name / "function.json").write_text("{}")
        (tmp_path / "functions" / name / "handler.py").write_text("x = 1\n")
    (tmp_path / "functions" / "draft").mkdir()  # no manifest yet: not a function
    (tmp_path / "functions" / "draft" / "handler.py").write_text("")
    (tmp_path / "shared" / "apikit" / "schemas").mkdir(parents=True)
    (tmp_path / "shared" / "apikit" / "http.py").write_text("")
    (tmp_path / "terraform" / "stages").mkdir(parents=True)
    return tmp_path


def _classify(tree: Path, *rels: str) -> Changes:
    return classify([tree / rel for rel in rels], tree, "local")


def test_a_handler_or_any_file_of_a_function_folder_is_that_functions_code(tree: Path) -> None:
    changes = _classify(tree, "functions/get_item/handler.py", "functions/get_item/helpers/util.py")
    assert changes.functions == {"get_item"}
    assert not changes.layer and not changes.infra
    assert changes.sources == {tree / "functions/get_item/handler.py"}  # only existing .py are compiled


def test_the_layer_is_apikit_and_its_pinned_requirements(tree: Path) -> None:
    assert _classify(tree, "shared/apikit/http.py").layer
    assert _classify(tree, "requirements/layer.txt").layer
    assert _classify(tree, "shared/README.md").empty  # not in the layer zip


@pytest.mark.parametrize(
    "rel",
    [
        "functions/get_item/function.json",  # route, IAM, environment, timeout
        "functions/gone/handler.py",  # a function folder removed
        "shared/apikit/schemas/item.json",  # API Gateway models
        "shared/apikit/table.json",  # the table's keys
        "terraform/main.tf",
        "terraform/modules/api/main.tf",
        "terraform/stages/local.json",
        "terraform/stages/stage.schema.json",
    ],
)
def test_what_terraform_reads_needs_an_apply(tree: Path, rel: str) -> None:
    changes = _classify(tree, rel)
    assert changes.infra == [rel]


@pytest.mark.parametrize(
    "rel",
    [
        "terraform/stages/prod.json",  # another stage's plan, not this one's
        "terraform/zz_local_override.tf.json",  # written by every apply against an emulator
        "terraform/.terraform.lock.hcl",
        "terraform/README.md",
        "functions/get_item/__pycache__/handler.cpython-312.pyc",
        "functions/get_item/.handler.py.swp",
        "functions/get_item/handler.py~",
        "functions/get_item/tests/test_x.py",  # never in the zip
        "functions/draft/handler.py",  # becomes a function when its manifest appears
        "functions/README.md",
        "build/lambda/layer.zip",
        "docs/embedded-stack.md",
    ],
)
def test_noise_and_files_outside_the_deploy_are_ignored(tree: Path, rel: str) -> None:
    assert _classify(tree, rel).empty


def test_a_batch_folds_code_and_infrastructure_and_merges_later_batches(tree: Path) -> None:
    first = _classify(tree, "functions/get_item/handler.py", "shared/apikit/http.py")
    first.merge(_classify(tree, "functions/create_item/function.json", "functions/create_item/handler.py"))
    assert first.functions == {"get_item", "create_item"}
    assert first.layer
    assert first.infra == ["functions/create_item/function.json"]
    assert not first.empty
