"""Measurement 8: save to served. A handler file is written in a copy of the tree while `make run`
serves it, and the clock stops at the first response that the new code produced; the same loop then
goes through a full `terraform apply` (the handler saved together with its manifest, which the hot
reload hands to an incremental apply of the same workspace), so the ratio is taken in one run.

The client polls `GET /items/{id}` every 50 ms, so a figure is at most 50 ms late; the edit adds a
field to the response that names the edit, so an old and a new response cannot be mistaken.
"""

from __future__ import annotations

import shutil
import statistics
import time
from typing import Any

import requests

from benchmarks.embedded.tree_copy import CopyRun, copy_tree
from benchmarks.sandbox import CACHE, Log

TITLE = "8. Save to served (hot reload vs terraform apply)"
TARGET_S = 2.0
POLL_S = 0.05
HANDLER = "functions/get_item/handler.py"
MANIFEST = "functions/get_item/function.json"
ANCHOR = 'return response(200, item, etag(item["version"]))'


def _call(run: CopyRun, method: str, path: str, body: Any = None) -> tuple[int, Any]:
    key = next(iter(run.info["partners"].values()))["api_key"]
    response = requests.request(
        method, run.info["api_url"] + path, json=body, headers={"x-api-key": key}, timeout=60
    )
    return response.status_code, response.json() if response.content else None


def _one(run: CopyRun, item_id: str, mark: str, original: str, *, via_apply: bool, timeout_s: float) -> dict:
    """Save, then poll until the response carries ``mark``; seconds from the write, and the deploy's steps."""
    before = len(run.reloads())
    edited = original.replace(
        ANCHOR, f'return response(200, {{**item, "servedBy": "{mark}"}}, etag(item["version"]))'
    )
    manifest = run.tree / MANIFEST
    saved_at, started = time.time(), time.monotonic()
    (run.tree / HANDLER).write_text(edited)
    if via_apply:
        manifest.write_text(manifest.read_text())  # the same bytes: a save of infrastructure
    deadline = started + timeout_s
    while True:
        status, body = _call(run, "GET", f"/items/{item_id}")
        if status == 200 and body.get("servedBy") == mark:
            served = time.monotonic() - started
            break
        if time.monotonic() > deadline:
            raise RuntimeError(
                f"{mark} not served within {timeout_s:.0f} s:\n" + "\n".join(run.reload_lines()[-10:])
            )
        time.sleep(POLL_S)
    record = run.wait_reload(before, timeout_s=60)
    steps = {k: v for k, v in record.items() if k.endswith("_s")}
    steps["watch_s"] = round(
        record["at"] - saved_at, 3
    )  # the save until the watcher's batch (debounce included)
    steps["first_request_s"] = round(
        served - steps["watch_s"] - steps.get("queue_s", 0) - steps["total_s"], 3
    )
    return {"served_s": round(served, 3), **steps}


def _summary(samples: list[dict]) -> dict[str, Any]:
    served = sorted(s["served_s"] for s in samples)
    steps = {k for s in samples for k in s if k != "served_s"}
    return {
        "n": len(served),
        "p50": statistics.median(served),
        "min": served[0],
        "max": served[-1],
        "steps_p50": {k: statistics.median(s[k] for s in samples if k in s) for k in sorted(steps)},
    }


def measure(log: Log, *, edits: int, applies: int, timeout_s: float = 900.0) -> dict[str, Any]:
    """``edits`` hot reloads and ``applies`` terraform applies of a handler edit, on one stack."""
    tree = CACHE / "reload-tree"
    shutil.rmtree(tree, ignore_errors=True)
    copy_tree(tree)
    log("  make run in a copy of the tree (its handlers are edited, never the repository's)")
    with CopyRun(tree) as run:
        status, item = _call(run, "POST", "/items", {"userId": "bench", "name": "reload"})
        if status != 201:
            raise RuntimeError(f"POST /items answered {status}: {item}")
        original = (tree / HANDLER).read_text()
        if ANCHOR not in original:
            raise RuntimeError(
                f"{HANDLER} no longer contains {ANCHOR!r}: update benchmarks/embedded/reload.py"
            )
        hot = []
        for i in range(edits):
            hot.append(_one(run, item["id"], f"hot-{i}", original, via_apply=False, timeout_s=timeout_s))
            log(f"  hot reload {i + 1}/{edits}: served after {hot[-1]['served_s']:.2f} s")
        applied = []
        for i in range(applies):
            applied.append(_one(run, item["id"], f"apply-{i}", original, via_apply=True, timeout_s=timeout_s))
            log(f"  terraform apply {i + 1}/{applies}: served after {applied[-1]['served_s']:.1f} s")
    return result(_summary(hot), _summary(applied))


def result(hot: dict[str, Any], applied: dict[str, Any]) -> dict[str, Any]:
    """The measurement's rows from the two summaries."""
    ratio = hot["p50"] / applied["p50"] if applied["p50"] else None
    order = ("watch_s", "queue_s", "build_s", "check_s", "deploy_s", "first_request_s")
    steps = ", ".join(
        f"{k.removesuffix('_s')} {hot['steps_p50'][k]:.2f}" for k in order if k in hot["steps_p50"]
    )
    applied_steps = ("watch_s", "build_s", "init_s", "apply_s", "output_s", "first_request_s")
    rows = [
        {
            "name": "handler edit, hot reload",
            "result": f"{hot['p50']:.2f} s p50 [{hot['min']:.2f}-{hot['max']:.2f}] over {hot['n']} edits",
            "reference": f"terraform apply {applied['p50']:.1f} s p50 "
            f"[{applied['min']:.1f}-{applied['max']:.1f}] over {applied['n']}",
            "ratio": f"{ratio:.3f}x" if ratio is not None else "-",
            "target": f"<= {TARGET_S:g} s",
            "met": hot["p50"] <= TARGET_S,
        },
        {
            "name": "where the hot reload's time goes (p50)",
            "result": f"{steps} s",
            "reference": "apply: "
            + ", ".join(
                f"{k.removesuffix('_s')} {applied['steps_p50'][k]:.1f}"
                for k in applied_steps
                if k in applied["steps_p50"]
            ),
            "ratio": "",
            "target": "",
            "met": None,
        },
    ]
    return {
        "id": "save_to_served",
        "title": TITLE,
        "status": "ok",
        "hot": hot,
        "apply": applied,
        "rows": rows,
    }
