"""What an AWS stage costs a month at the traffic its stage file states (`make cost`).

    python -m scripts.cost [STAGE ...] [--json] [--prices FILE]

Reads the stage files, the manifests, shared/apikit/table.json and the dated price table
scripts/prices.json; how each line is estimated, and what is left out: scripts/cost_model.py.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from scripts.cost_model import Line, estimate
from scripts.cost_usage import ROOT, load_manifests

STAGES_DIR = ROOT / "terraform" / "stages"
PRICES = Path(__file__).resolve().parent / "prices.json"

__all__ = ["estimate", "main", "render"]


def render(stage_name: str, stage: dict[str, Any], lines: list[Line], prices: dict[str, Any]) -> str:
    """A plain-text table of one stage's estimate."""
    traffic = stage["traffic"]
    head = (
        f"{stage_name} ({stage['region']}): {traffic['requests_per_second']:g} requests/s, "
        f"{traffic['item_size_bytes']:,} B items, {traffic['items_stored']:,} stored; "
        f"prices {prices['region']} as of {prices['as_of']}"
    )
    rows = [(line.service, line.what, line.quantity, f"{line.usd:,.2f}") for line in lines]
    rows.append(("Total", "", "", f"{sum(line.usd for line in lines):,.2f}"))
    widths = [max(len(r[i]) for r in [("service", "line", "quantity", "USD/month"), *rows]) for i in range(4)]
    fmt = f"  {{:<{widths[0]}}}  {{:<{widths[1]}}}  {{:>{widths[2]}}}  {{:>{widths[3]}}}"
    out = [
        head,
        fmt.format("service", "line", "quantity", "USD/month"),
        fmt.format(*("-" * w for w in widths)),
    ]
    out += [fmt.format(*r) for r in rows]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    """Print the estimate of each stage asked for (default: every stage file with a traffic section)."""
    parser = argparse.ArgumentParser(prog="python -m scripts.cost", description=__doc__.split("\n\n")[0])
    parser.add_argument("stages", nargs="*", help="stage names (default: every stage file with traffic)")
    parser.add_argument("--json", action="store_true", help="print the lines as JSON")
    parser.add_argument(
        "--prices", type=Path, default=PRICES, help="price table (default scripts/prices.json)"
    )
    args = parser.parse_args(argv)
    prices = json.loads(args.prices.read_text())
    manifests = load_manifests()
    indexes = len(
        json.loads((ROOT / "shared" / "apikit" / "table.json").read_text())["global_secondary_indexes"]
    )
    files = {p.stem: p for p in sorted(STAGES_DIR.glob("*.json")) if not p.name.endswith(".schema.json")}
    names = args.stages or [n for n, p in files.items() if json.loads(p.read_text()).get("traffic")]
    report: dict[str, Any] = {}
    for name in names:
        if name not in files:
            parser.error(f"no stage file terraform/stages/{name}.json")
        stage = json.loads(files[name].read_text())
        if not stage.get("traffic"):
            parser.error(f"stage {name} states no traffic (the stage file's traffic section)")
        lines = estimate(stage, manifests, prices, indexes)
        report[name] = {
            "lines": [asdict(line) for line in lines],
            "total_usd": round(sum(x.usd for x in lines), 2),
        }
        if not args.json:
            print(render(name, stage, lines, prices) + "\n")
    if args.json:
        print(json.dumps({"prices_as_of": prices["as_of"], "stages": report}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
