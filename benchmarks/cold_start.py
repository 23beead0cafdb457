"""Measurement 1: cold init of every handler, interleaved with the baselines in the same run.

Each sample is a fresh `python -I -S` interpreter with the Lambda layout and variables (see sandbox.py)
that imports the runtime bootstrap's modules first, then times the import of the handler module with its
module-level clients. A first, discarded round writes bytecode caches, as a deployment would ship them.
"""

import random
from typing import Any

from benchmarks.harness import BASELINE_ENTRIES, FLOOR, POWERTOOLS, SEED, Entry, run_worker, services_called
from benchmarks.sandbox import Log, Sandbox
from benchmarks.stats import ratio, summary

SEED_TARGET = 1.2
POWERTOOLS_TARGET = 0.6


def measure(sandbox: Sandbox, handlers: list[Entry], runs: int, log: Log) -> dict[str, Any]:
    """Median/min/max init per entry, ratios to seed-style and Powertools, distance from the floor.

    The headline ("ready") is the import plus the clients the function's code uses: baselines create
    theirs at import, our layer creates them on first use, and comparing imports alone would hide that
    cost in the first request. It imports our layer as shipped (no bytecode, as on Lambda's read-only
    /opt); the same with bytecode caches, import-only and CPU-time medians are kept beside it (CPU time
    is the steadier figure when other work shares the machine).
    """
    entries = [*handlers, *BASELINE_ENTRIES]
    kinds = ("ready", "import", "cpu", "clients", "bytecode")
    samples: dict[str, dict[str, list[float]]] = {e.name: {k: [] for k in kinds} for e in entries}
    modules: dict[str, int] = {}
    services = {e.name: services_called(e) for e in entries}
    shuffler = random.Random(6)
    for round_index in range(runs + 1):
        order = entries[:]
        shuffler.shuffle(order)
        for entry in order:
            result = run_worker(sandbox, entry, "cold", services=services[entry.name])
            compiled = None
            if not entry.is_baseline:
                compiled = run_worker(sandbox, entry, "cold", services=services[entry.name], shipped=False)
            if round_index > 0:
                mine = samples[entry.name]
                mine["ready"].append(result["init_ms"] + result["clients_ms"])
                mine["import"].append(result["init_ms"])
                mine["cpu"].append(result["init_cpu_ms"])
                mine["clients"].append(result["clients_ms"])
                source = compiled or result  # baselines' code always has bytecode (the runtime's)
                mine["bytecode"].append(source["init_ms"] + source["clients_ms"])
            modules[entry.name] = result["modules_imported"]
        label = "warm-up (bytecode caches)" if round_index == 0 else f"{round_index}/{runs}"
        latest = [
            f"{e.name}={samples[e.name]['ready'][-1]:.0f}ms" for e in entries if samples[e.name]["ready"]
        ]
        log(f"  cold init round {label}: " + ", ".join(latest))
    stats = {name: summary(values["ready"]) for name, values in samples.items()}
    medians = {name: {k: summary(v)["median"] for k, v in values.items()} for name, values in samples.items()}
    seed_pyc, pt_pyc = medians[SEED.name]["bytecode"], medians[POWERTOOLS.name]["bytecode"]
    seed, powertools, floor = (stats[e.name]["median"] for e in (SEED, POWERTOOLS, FLOOR))
    seed_cpu, pt_cpu = medians[SEED.name]["cpu"], medians[POWERTOOLS.name]["cpu"]
    rows = []
    for entry in entries:
        median = stats[entry.name]["median"]
        vs_seed, vs_pt = ratio(median, seed), ratio(median, powertools)
        met = None
        if not entry.is_baseline:
            met = vs_seed is not None and vs_pt is not None
            met = met and vs_seed <= SEED_TARGET and vs_pt <= POWERTOOLS_TARGET
        rows.append(
            {
                "name": entry.name,
                "role": entry.role,
                **stats[entry.name],
                "import_median": medians[entry.name]["import"],
                "clients_median": medians[entry.name]["clients"],
                "cpu_median": medians[entry.name]["cpu"],
                "bytecode_median": medians[entry.name]["bytecode"],
                "bytecode_vs_seed": ratio(medians[entry.name]["bytecode"], seed_pyc),
                "bytecode_vs_powertools": ratio(medians[entry.name]["bytecode"], pt_pyc),
                "services": services[entry.name],
                "modules_imported": modules.get(entry.name),
                "vs_seed": vs_seed,
                "vs_powertools": vs_pt,
                "cpu_vs_seed": ratio(medians[entry.name]["cpu"], seed_cpu),
                "cpu_vs_powertools": ratio(medians[entry.name]["cpu"], pt_cpu),
                "above_floor_ms": median - floor,
                "met": met,
            }
        )
    return {
        "id": "cold_init",
        "title": "Cold init: fresh interpreter, handler import + the clients its code uses",
        "status": "ok",
        "unit": "ms",
        "runs": runs,
        "targets": {"vs_seed": f"<= {SEED_TARGET}x", "vs_powertools": f"<= {POWERTOOLS_TARGET}x"},
        "rows": rows,
    }
