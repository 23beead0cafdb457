"""Generate the API's OpenAPI 3.1 document from the sources Terraform deploys (design.md section 7).

Routes (method, path, request model) come from ``functions/*/function.json``, as Terraform reads them;
what a route adds for partners (summary, parameters, responses, examples, links) is the manifest's
``openapi`` block. Bodies are the JSON Schemas of ``shared/apikit/schemas`` (requests, the models API
Gateway validates) and ``shared/apikit/schemas/responses``. What every route shares (the key, the
headers, API Gateway's own answers) is ``scripts/openapi_base.json``. Nothing here describes a route.

    python scripts/openapi.py            # write functions/openapi/openapi.json
    python scripts/openapi.py --check    # exit 1 if the committed document differs from what would be written
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
FUNCTIONS = ROOT / "functions"
SCHEMAS = ROOT / "shared" / "apikit" / "schemas"
BASE = Path(__file__).resolve().parent / "openapi_base.json"
# Committed beside the handler that serves it, so the function's zip carries exactly this file.
OUTPUT = FUNCTIONS / "openapi" / "openapi.json"
METHOD_ORDER = ("get", "post", "put", "patch", "delete")
# Draft-04 keywords whose meaning changed by 2020-12 (OpenAPI 3.1's dialect): refuse, never mistranslate.
_DRAFT4_ONLY = ("exclusiveMaximum", "exclusiveMinimum", "id", "dependencies")


def _version() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    match = re.search(r'(?m)^version\s*=\s*"([^"]+)"', text)
    if not match:
        raise ValueError("pyproject.toml has no version")
    return match.group(1)


def _schema_files() -> dict[str, Path]:
    """Schema file name (``item_create``, ``responses/item``) -> path."""
    files = {p.stem: p for p in sorted(SCHEMAS.glob("*.json"))}
    files |= {f"responses/{p.stem}": p for p in sorted((SCHEMAS / "responses").glob("*.json"))}
    return files


def _component(document: dict[str, Any], name: str, titles: dict[str, str]) -> dict[str, Any]:
    """A draft-04 schema as an OpenAPI 3.1 schema: no ``$schema``, file refs -> component refs."""
    out = copy.deepcopy(document)
    out.pop("$schema", None)

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            for key in _DRAFT4_ONLY:  # property names never get here: "properties" is walked by value
                if key in node:
                    raise ValueError(f"schema {name}: draft-04 keyword {key!r} has no 3.1 twin")
            ref = node.get("$ref")
            if isinstance(ref, str) and not ref.startswith("#"):
                target = f"responses/{Path(ref).stem}" if name.startswith("responses/") else Path(ref).stem
                node["$ref"] = f"#/components/schemas/{titles[target]}"
            for key, value in node.items():
                if key != "properties":
                    walk(value)
                else:
                    for prop in value.values():
                        walk(prop)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(out)
    return out


def _json(schema: dict[str, Any], example: Any = None) -> dict[str, Any]:
    media: dict[str, Any] = {"schema": schema}
    if example is not None:
        media["example"] = example
    return {"application/json": media}


def _ref(kind: str, name: str) -> dict[str, str]:
    return {"$ref": f"#/components/{kind}/{name}"}


def _headers(names: list[str], base: dict[str, Any]) -> dict[str, Any]:
    """Response headers by component name; ``Name?`` is that header where this answer may omit it."""
    out: dict[str, Any] = {}
    for name in names:
        if name.endswith("?"):
            out[name[:-1]] = {**base["headers"][name[:-1]], "required": False}
        else:
            out[name] = _ref("headers", name)
    return out


def _operation(
    name: str, manifest: dict[str, Any], base: dict[str, Any], titles: dict[str, str]
) -> dict[str, Any]:
    route, spec = manifest["route"], manifest.get("openapi")
    if not isinstance(spec, dict):
        raise ValueError(f"functions/{name}/function.json: a routed function needs an openapi block")
    op: dict[str, Any] = {
        "operationId": spec["operationId"],
        "summary": spec["summary"],
        "description": spec.get("description", manifest.get("description", "")),
        "tags": spec.get("tags", []),
    }
    params = [_ref("parameters", p) if isinstance(p, str) else p for p in spec.get("parameters", [])]
    if params:
        op["parameters"] = params
    body_spec = spec.get("requestBody")
    model = route.get("request_model")
    has_body = model is not None or body_spec is not None
    if has_body:
        body_spec = body_spec or {}
        schema = body_spec.get("schema") or _ref("schemas", titles[model])
        op["requestBody"] = {"required": True, "content": _json(schema, body_spec.get("example"))}
    responses: dict[str, Any] = {}
    for status, answer in spec["responses"].items():
        out: dict[str, Any] = {"description": answer["description"]}
        if answer.get("headers"):
            out["headers"] = _headers(answer["headers"], base)
        body = answer.get("body", None if status == "204" else "responses/error")
        if body is not None:
            schema = _ref("schemas", titles[body]) if isinstance(body, str) else body
            out["content"] = _json(schema, answer.get("example"))
        if answer.get("links"):
            out["links"] = answer["links"]
        responses[status] = out
    common = dict(base["common_responses"]["every_route"])
    if has_body:
        common |= base["common_responses"]["with_body"]
    if not route.get("api_key_required", True):
        common.pop("401", None)
    for status, component in common.items():
        responses.setdefault(status, _ref("responses", component))
    op["responses"] = dict(sorted(responses.items()))
    if not route.get("api_key_required", True):
        op["security"] = []
    return op


def _response_components(base: dict[str, Any], titles: dict[str, str]) -> dict[str, Any]:
    out = {}
    for name, answer in base["responses"].items():
        component: dict[str, Any] = {"description": answer["description"]}
        if answer.get("headers"):
            component["headers"] = _headers(answer["headers"], base)
        component["content"] = _json(_ref("schemas", titles["responses/error"]), answer.get("example"))
        out[name] = component
    return out


def generate() -> dict[str, Any]:
    """The document, from the manifests, the schemas and the base; deterministic."""
    base = json.loads(BASE.read_text())
    files = _schema_files()
    documents = {name: json.loads(path.read_text()) for name, path in files.items()}
    titles = {name: doc["title"] for name, doc in documents.items()}
    if len(set(titles.values())) != len(titles):
        raise ValueError(f"schema titles must be unique: {titles}")
    paths: dict[str, dict[str, Any]] = {}
    operation_ids: set[str] = set()
    for manifest_path in sorted(FUNCTIONS.glob("*/function.json")):
        manifest = json.loads(manifest_path.read_text())
        if "route" not in manifest:
            continue
        name = manifest_path.parent.name
        method = manifest["route"]["method"].lower()
        op = _operation(name, manifest, base, titles)
        if op["operationId"] in operation_ids:
            raise ValueError(f"duplicate operationId {op['operationId']}")
        operation_ids.add(op["operationId"])
        paths.setdefault(manifest["route"]["path"], {})[method] = op
    info = {**base["info"], "version": _version()}
    return {
        "openapi": "3.1.0",
        "info": info,
        "servers": base["servers"],
        "security": [{"apiKey": []}],
        "tags": base["tags"],
        "paths": {
            path: dict(sorted(ops.items(), key=lambda kv: METHOD_ORDER.index(kv[0])))
            for path, ops in sorted(paths.items())
        },
        "components": {
            "securitySchemes": base["securitySchemes"],
            "schemas": {titles[n]: _component(doc, n, titles) for n, doc in sorted(documents.items())},
            "parameters": base["parameters"],
            "headers": base["headers"],
            "responses": _response_components(base, titles),
        },
    }


def render() -> str:
    """The document as committed: indented JSON with a final newline."""
    return json.dumps(generate(), indent=2, ensure_ascii=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="fail if the committed document drifted")
    parser.add_argument("--output", type=Path, default=OUTPUT)
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = args.output.read_text() if args.output.exists() else ""
        if current != text:
            print(f"{args.output} is stale: run python scripts/openapi.py", file=sys.stderr)
            return 1
        return 0
    args.output.write_text(text)
    print(args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
