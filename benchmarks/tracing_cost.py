"""Measurement 8: what each tracing SDK adds to a cold start (docs/decisions/0007-tracing-exit.md).

Three modules in the same Lambda-like interpreter as measurement 1 (fresh `python -I -S`, the
runtime's botocore, Lambda's variables), interleaved and shuffled per round: no SDK, aws-xray-sdk
patching botocore, and OpenTelemetry's SDK with the botocore instrumentation and the X-Ray propagator
(the PyPI packages the ADOT layer is built from, copied with their metadata: OpenTelemetry finds its
context and propagators through entry points). Each creates the same DynamoDB client; the figure is
the import of the module, client included, and its distance from the no-SDK module, in wall time and
in CPU time (the steadier figure when other work shares the machine).
"""

import hashlib
import random
import shutil
import subprocess
from dataclasses import replace
from pathlib import Path
from typing import Any

from benchmarks.harness import BASELINES, Entry, run_worker
from benchmarks.sandbox import CACHE, Log, Sandbox, _venv_site_packages
from benchmarks.stats import ratio, summary

NONE = Entry("no tracing SDK (botocore client only)", "tracing-none", "plain", BASELINES, "tracing_none")
XRAY = Entry("aws-xray-sdk, botocore patched", "tracing-xray", "powertools", BASELINES, "tracing_xray")
OTEL = Entry(
    "OpenTelemetry SDK + botocore instrumentation", "tracing-otel", "powertools", BASELINES, "tracing_otel"
)
ENTRIES = (NONE, XRAY, OTEL)
# Packages (and their dist-info, for entry points) that the OpenTelemetry module imports.
OTEL_PACKAGES = ("opentelemetry", "wrapt", "packaging", "typing_extensions.py")
OTEL_DISTRIBUTIONS = (
    "opentelemetry_api",
    "opentelemetry_sdk",
    "opentelemetry_instrumentation",
    "opentelemetry_instrumentation_botocore",
    "opentelemetry_semantic_conventions",
    "opentelemetry_propagator_aws_xray",
    "wrapt",
    "packaging",
    "typing_extensions",
)


def otel_path(sandbox: Sandbox, log: Log) -> Path:
    """A compiled copy of the OpenTelemetry packages with their metadata, for the measured interpreter."""
    site = _venv_site_packages()
    infos = sorted(p for d in OTEL_DISTRIBUTIONS for p in site.glob(f"{d}-*.dist-info"))
    missing = [d for d in OTEL_DISTRIBUTIONS if not any(p.name.startswith(f"{d}-") for p in infos)]
    if missing:
        raise RuntimeError(f"not installed (requirements/dev.txt): {', '.join(missing)}")
    digest = hashlib.sha256(repr([p.name for p in infos]).encode()).hexdigest()[:12]
    target = CACHE / f"otel-{sandbox.python_version}-{digest}"
    if (target / ".complete").exists():
        return target
    log("  copying and compiling the OpenTelemetry packages (once)")
    shutil.rmtree(target, ignore_errors=True)
    target.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in OTEL_PACKAGES:
        source = site / name
        if source.is_dir():
            shutil.copytree(source, target / name, ignore=ignore)
        else:
            shutil.copy2(source, target / name)
    for info in infos:
        shutil.copytree(info, target / info.name)
    subprocess.run(  # noqa: S603 - an interpreter we located ourselves
        [sandbox.python, "-I", "-m", "compileall", "-q", "-j0", str(target)], check=False, capture_output=True
    )
    (target / ".complete").write_text("\n".join(p.name for p in infos) + "\n")
    return target


def measure(sandbox: Sandbox, runs: int, log: Log) -> dict[str, Any]:
    """Median/min/max init of each module and its distance from the no-SDK module."""
    boxes = {
        NONE.name: sandbox,
        XRAY.name: sandbox,
        OTEL.name: replace(sandbox, powertools_path=otel_path(sandbox, log)),
    }
    samples: dict[str, list[float]] = {e.name: [] for e in ENTRIES}
    cpu: dict[str, list[float]] = {e.name: [] for e in ENTRIES}
    shuffler = random.Random(8)
    for round_index in range(runs + 1):
        order = list(ENTRIES)
        shuffler.shuffle(order)
        for entry in order:
            # Round 0 writes the modules' bytecode caches (a deployment ships them) and is discarded.
            result = run_worker(boxes[entry.name], entry, "cold", shipped=round_index > 0)
            if round_index > 0:
                samples[entry.name].append(result["init_ms"])
                cpu[entry.name].append(result["init_cpu_ms"])
        if round_index:
            log(
                f"  tracing round {round_index}/{runs}: "
                + ", ".join(f"{e.role}={samples[e.name][-1]:.0f}ms" for e in ENTRIES)
            )
    stats = {name: summary(values) for name, values in samples.items()}
    cpu_medians = {name: summary(values)["median"] for name, values in cpu.items()}
    none, none_cpu = stats[NONE.name]["median"], cpu_medians[NONE.name]
    rows = [
        {"name": e.name, "role": e.role, **stats[e.name], "above_none_ms": stats[e.name]["median"] - none,
         "vs_none": ratio(stats[e.name]["median"], none), "cpu_median": cpu_medians[e.name],
         "cpu_above_none_ms": cpu_medians[e.name] - none_cpu}
        for e in ENTRIES
    ]  # fmt: skip
    return {
        "id": "tracing_cost",
        "title": "Tracing SDKs at a cold start: module import with the DynamoDB client",
        "status": "ok",
        "unit": "ms",
        "runs": runs,
        "rows": rows,
    }
