"""Turn measurements into one table (console and Markdown), a JSON file and a PNG chart."""

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt

MB = 1024 * 1024
COLUMNS = ("#", "measurement", "entry", "result", "reference", "ratio", "target", "verdict")


def _ms(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f} ms" if value < 100 else f"{value:.0f} ms"


def _x(value: float | None) -> str:
    return "-" if value is None else f"{value:.2f}x"


def _verdict(met: bool | None) -> str:
    return "" if met is None else "met" if met else "MISSED"


def _spread(row: dict[str, Any]) -> str:
    text = f"{_ms(row['median'])} [{row['min']:.0f}-{row['max']:.0f}]"
    if row.get("clients_median"):
        text += f" (import {row['import_median']:.0f} + clients {row['clients_median']:.0f})"
    return text


def _cold(m: dict[str, Any]) -> list[tuple[str, ...]]:
    baselines = {r["role"]: r for r in m["rows"] if r["role"] != "handler"}
    seed, pt, floor = baselines["seed"], baselines["powertools"], baselines["floor"]
    reference = f"seed {_ms(seed['median'])}, PT {_ms(pt['median'])}, floor {_ms(floor['median'])}"
    rows = []
    for r in m["rows"]:
        is_handler = r["role"] == "handler"
        ratio = f"{_x(r['vs_seed'])} seed, {_x(r['vs_powertools'])} PT, floor {r['above_floor_ms']:+.0f} ms"
        if is_handler:
            ratio += (f"; with bytecode {_ms(r['bytecode_median'])} = {_x(r['bytecode_vs_seed'])} seed, "
                      f"{_x(r['bytecode_vs_powertools'])} PT")  # fmt: skip
        target = "<=1.2x seed, <=0.6x PT" if is_handler else "baseline"
        rows.append(("1", "cold init", r["name"], _spread(r), reference if is_handler else "", ratio, target,
                     _verdict(r["met"])))  # fmt: skip
    return rows


def _first(m: dict[str, Any]) -> list[tuple[str, ...]]:
    return [
        ("2", "first request", r["name"],
         f"{_ms(r['median'])} (init {r['init_median']:.0f} + call {r['first_median']:.0f})",
         f"seed {_ms(r['seed_median'])} "
         f"(init {r['seed_init_median']:.0f} + call {r['seed_first_median']:.0f})",
         f"{_x(r['vs_seed'])} seed", "reported", "")
        for r in m["rows"]
    ]  # fmt: skip


def _warm(m: dict[str, Any]) -> list[tuple[str, ...]]:
    ours, bare = m["rows"]
    return [("3", "warm overhead", ours["name"], f"{ours['median']:.2f} ms (p99 {ours['p99']:.2f})",
             f"bare get_item {bare['median']:.2f} ms", _x(ours["vs_bare"]), m["target"],
             _verdict(ours["met"]))]  # fmt: skip


def _calls(m: dict[str, Any]) -> list[tuple[str, ...]]:
    *ours, seed = m["rows"]
    before = m.get("baseline_write_calls")
    return [("4", "DynamoDB writes", f"{r['name']}, {r['mode']} ({r['items']} items)",
             f"{r['writes']} write calls ({_by_op(r)}), {r['retries']} retries; {r['table_wcu']} WCU"
             f" (+{r['index_wcu']} GSI1)",
             f"before issue 11 {before} calls; seed-style {seed['writes']} calls, {seed['table_wcu']} WCU",
             f"{_x(r['writes'] / seed['writes'] if seed['writes'] else None)} calls, "
             f"{_x(r['table_wcu'] / seed['table_wcu'] if seed['table_wcu'] else None)} WCU",
             m["target"] if r["met"] is not None else "reported", _verdict(r["met"]))
            for r in ours]  # fmt: skip


def _by_op(row: dict[str, Any]) -> str:
    return " + ".join(f"{n} {op}" for op, n in sorted(row["calls_by_operation"].items()) if n)


def _embedded(m: dict[str, Any]) -> list[tuple[str, ...]]:
    return [("5", "embedded stack", r["name"], r["result"], r["reference"], r["ratio"], r["target"],
             _verdict(r.get("met"))) for r in m["rows"]]  # fmt: skip


def _make_run(m: dict[str, Any]) -> list[tuple[str, ...]]:
    return [("6", "make run", r["name"], r["result"], r.get("reference", ""), r.get("ratio", ""),
             r.get("target", ""), _verdict(r.get("met"))) for r in m["rows"]]  # fmt: skip


def _sizes(m: dict[str, Any]) -> list[tuple[str, ...]]:
    return [("7", "size", r["name"], f"{r['zipped_bytes'] / MB:.3f} MB zipped",
             f"{r['unzipped_bytes'] / MB:.2f} MB unzipped, {r['with_layers_bytes'] / MB:.2f} MB with layer",
             f"{r['with_layers_bytes'] / (250 * MB):.1%} of 250 MB", "<=50 MB zip, <=250 MB unzipped",
             _verdict(r["met"])) for r in m["rows"]]  # fmt: skip


def _save_to_served(m: dict[str, Any]) -> list[tuple[str, ...]]:
    return [("8", "save to served", r["name"], r["result"], r["reference"], r["ratio"], r["target"],
             _verdict(r.get("met"))) for r in m["rows"]]  # fmt: skip


def _tracing(m: dict[str, Any]) -> list[tuple[str, ...]]:
    none = next(r for r in m["rows"] if r["role"] == "tracing-none")
    return [("9", "tracing at cold start", r["name"], _spread(r),
             "" if r is none else f"no SDK {_ms(none['median'])}",
             "" if r is none else f"{r['above_none_ms']:+.0f} ms, {_x(r['vs_none'])}; "
             f"CPU {r['cpu_median']:.0f} ms ({r['cpu_above_none_ms']:+.0f} ms)",
             "reported" if r is not none else "baseline", "") for r in m["rows"]]  # fmt: skip


FORMATTERS: dict[str, tuple[str, Callable[[dict[str, Any]], list[tuple[str, ...]]]]] = {
    "cold_init": ("1", _cold),
    "first_request": ("2", _first),
    "warm_overhead": ("3", _warm),
    "dynamodb_calls": ("4", _calls),
    "embedded": ("5", _embedded),
    "make_run": ("6", _make_run),
    "sizes": ("7", _sizes),
    "save_to_served": ("8", _save_to_served),
    "tracing_cost": ("9", _tracing),
}


def table_rows(measurements: list[dict[str, Any]]) -> list[tuple[str, ...]]:
    """One row per entry; skipped or failed measurements get one row with the reason."""
    rows: list[tuple[str, ...]] = []
    for m in measurements:
        number, formatter = FORMATTERS[m["id"]]
        if m["status"] != "ok":
            rows.append((number, m["title"], "-", m["status"].upper(), m.get("reason", ""), "", "", ""))
        else:
            rows += formatter(m)
    return rows


def console_table(rows: list[tuple[str, ...]]) -> str:
    """Aligned plain-text table."""
    widths = [max(len(str(c)) for c in column) for column in zip(COLUMNS, *rows, strict=False)]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) for row in [COLUMNS, *rows]]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def markdown_table(rows: list[tuple[str, ...]]) -> str:
    """GitHub-flavoured Markdown table."""

    def line(cells: tuple[str, ...]) -> str:
        return "| " + " | ".join(str(c).replace("|", "/") for c in cells) + " |"

    return "\n".join([line(COLUMNS), "|" + "---|" * len(COLUMNS), *(line(r) for r in rows)])


def write_json(path: Path, document: dict[str, Any]) -> None:
    """Results with every raw summary, for later comparison."""
    path.write_text(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")


def _by_id(measurements: list[dict[str, Any]], wanted: str) -> dict[str, Any] | None:
    return next((m for m in measurements if m["id"] == wanted and m["status"] == "ok"), None)


def _plot_cold(ax: Any, m: dict[str, Any] | None) -> None:
    ax.set_title("1. Cold init (median, min-max)")
    if m is None:
        ax.text(0.5, 0.5, "skipped", ha="center")
        return
    rows = m["rows"]
    names = [r["name"] for r in rows]
    medians = [r["median"] for r in rows]
    errors = [[r["median"] - r["min"] for r in rows], [r["max"] - r["median"] for r in rows]]
    colors = ["tab:blue" if r["role"] == "handler" else "tab:gray" for r in rows]
    ax.barh(names, medians, xerr=errors, color=colors, capsize=2, label="as shipped")
    compiled = [r for r in rows if r["role"] == "handler" and "bytecode_median" in r]
    if compiled:
        ax.scatter([r["bytecode_median"] for r in compiled], [r["name"] for r in compiled], color="black",
                   marker="D", s=14, zorder=3, label="with bytecode in the layer")  # fmt: skip
    baselines = {r["role"]: r["median"] for r in rows}
    ax.axvline(1.2 * baselines["seed"], color="tab:red", linestyle="--", label="1.2x seed-style")
    ax.axvline(0.6 * baselines["powertools"], color="tab:orange", linestyle=":", label="0.6x Powertools")
    ax.set_xlabel("ms")
    ax.invert_yaxis()
    ax.legend(fontsize=7)


def _plot_first(ax: Any, m: dict[str, Any] | None) -> None:
    ax.set_title("2. Init + first request vs seed-style")
    if m is None:
        ax.text(0.5, 0.5, "skipped", ha="center")
        return
    names = [r["name"] for r in m["rows"]]
    positions = range(len(names))
    ax.bar([p - 0.2 for p in positions], [r["median"] for r in m["rows"]], 0.4, label="ours")
    ax.bar([p + 0.2 for p in positions], [r["seed_median"] for r in m["rows"]], 0.4, label="seed-style",
           color="tab:gray")  # fmt: skip
    ax.set_xticks(list(positions), names, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("ms")
    ax.legend(fontsize=7)


def _plot_latency(ax: Any, measurements: list[dict[str, Any]]) -> None:
    ax.set_title("3 & 5. Per-request latency (p50 / p99)")
    labels, p50, p99 = [], [], []
    warm = _by_id(measurements, "warm_overhead")
    for r in warm["rows"] if warm else []:
        labels.append(r["name"])
        p50.append(r["p50"])
        p99.append(r["p99"])
    embedded = _by_id(measurements, "embedded")
    for r in embedded.get("latency", []) if embedded else []:
        labels.append(r["name"])
        p50.append(r["p50"])
        p99.append(r["p99"])
    if not labels:
        ax.text(0.5, 0.5, "skipped", ha="center")
        return
    positions = range(len(labels))
    ax.bar([p - 0.2 for p in positions], p50, 0.4, label="p50")
    ax.bar([p + 0.2 for p in positions], p99, 0.4, label="p99", color="tab:purple")
    ax.set_xticks(list(positions), labels, rotation=30, ha="right", fontsize=7)
    ax.set_ylabel("ms")
    ax.legend(fontsize=7)


def _plot_calls(ax: Any, m: dict[str, Any] | None) -> None:
    ax.set_title("4. POST /batch: DynamoDB write calls and table WCU (log scale)")
    if m is None or not m["rows"]:  # an empty log-scale axis made matplotlib grow without bound
        ax.text(0.5, 0.5, "skipped" if m is None else m["status"], ha="center")
        return
    names = [r["mode"] if r["name"] != "seed-style" else "seed-style" for r in m["rows"]]
    positions = range(len(names))
    ax.bar([p - 0.2 for p in positions], [r["writes"] for r in m["rows"]], 0.4, label="write calls")
    ax.bar([p + 0.2 for p in positions], [r["table_wcu"] for r in m["rows"]], 0.4, label="table WCU",
           color="tab:gray")  # fmt: skip
    ax.set_xticks(list(positions), names, rotation=20, ha="right", fontsize=7)
    ax.set_yscale("log")
    ax.set_ylim(bottom=1)
    ax.legend(fontsize=7)


def write_png(path: Path, measurements: list[dict[str, Any]], machine_line: str) -> None:
    """A four-panel chart of the measurements that have numbers."""
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    _plot_cold(axes[0][0], _by_id(measurements, "cold_init"))
    _plot_first(axes[0][1], _by_id(measurements, "first_request"))
    _plot_latency(axes[1][0], measurements)
    _plot_calls(axes[1][1], _by_id(measurements, "dynamodb_calls"))
    fig.suptitle(f"partner-items backend benchmarks - {machine_line}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
