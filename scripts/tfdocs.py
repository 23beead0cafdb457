"""Generate the Inputs/Outputs tables of each Terraform module's README from variables.tf/outputs.tf.

The tables sit between `<!-- BEGIN_TF_DOCS -->` and `<!-- END_TF_DOCS -->`; everything else in the
README is hand-written. Relies on `terraform fmt` layout (blocks close with `}` in column 0, attributes
at two spaces), which the fmt check enforces.

    python scripts/tfdocs.py          # rewrite the tables
    python scripts/tfdocs.py --check  # exit 1 when a README is out of date
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TF_ROOT = ROOT / "terraform"
BEGIN, END = "<!-- BEGIN_TF_DOCS -->", "<!-- END_TF_DOCS -->"
BLOCK = re.compile(r'^(variable|output) "([^"]+)" \{\n(.*?)^\}', re.MULTILINE | re.DOTALL)
ATTR = re.compile(r"^  ([a-z_]+)\s*=\s*(.*)$")
NESTED = re.compile(r"^  [a-z_]+\s*\{")


def _attributes(body: str) -> dict[str, str]:
    """Top-level attributes of a block body (nested blocks such as validation are skipped)."""
    attrs: dict[str, list[str]] = {}
    current: str | None = None
    for line in body.splitlines():
        if NESTED.match(line):
            current = None
            continue
        match = ATTR.match(line)
        if match:
            current = match.group(1)
            attrs[current] = [match.group(2)]
        elif current and line.strip():
            attrs[current].append(line.strip())  # continuation, including the closing `})`
    return {k: re.sub(r"\s+", " ", " ".join(v)).strip() for k, v in attrs.items()}


def _unquote(value: str) -> str:
    if value.startswith('"') and value.endswith('"'):
        return value[1:-1].replace('\\"', '"')
    return value


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def parse(path: Path, kind: str) -> list[tuple[str, dict[str, str]]]:
    if not path.exists():
        return []
    return [
        (m.group(2), _attributes(m.group(3))) for m in BLOCK.finditer(path.read_text()) if m.group(1) == kind
    ]


def render(module: Path) -> str:
    lines = ["## Inputs", ""]
    variables = parse(module / "variables.tf", "variable")
    if variables:
        lines += ["| Name | Description | Type | Default | Required |", "|---|---|---|---|:---:|"]
        for name, attrs in variables:
            default = attrs.get("default")
            description = _cell(_unquote(attrs.get("description", "")))
            kind = _cell(attrs.get("type", "any"))
            shown = f"`{_cell(default)}`" if default is not None else "n/a"
            required = "no" if default is not None else "yes"
            lines.append(f"| `{name}` | {description} | `{kind}` | {shown} | {required} |")
    else:
        lines.append("No inputs.")
    lines += ["", "## Outputs", ""]
    outputs = parse(module / "outputs.tf", "output")
    if outputs:
        lines += ["| Name | Description | Sensitive |", "|---|---|:---:|"]
        for name, attrs in outputs:
            sensitive = "yes" if attrs.get("sensitive") == "true" else "no"
            lines.append(f"| `{name}` | {_cell(_unquote(attrs.get('description', '')))} | {sensitive} |")
    else:
        lines.append("No outputs.")
    return "\n".join(lines)


def modules() -> list[Path]:
    roots = [TF_ROOT, TF_ROOT / "bootstrap"]
    return [*roots, *sorted(p for p in (TF_ROOT / "modules").iterdir() if (p / "main.tf").exists())]


def update(readme: Path, table: str) -> str:
    text = readme.read_text() if readme.exists() else f"# {readme.parent.name}\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        text = text.rstrip("\n") + f"\n\n{BEGIN}\n{END}\n"
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{BEGIN}\n{table}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--check", action="store_true", help="report stale READMEs instead of writing")
    args = parser.parse_args(argv)
    stale = []
    for module in modules():
        readme = module / "README.md"
        wanted = update(readme, render(module))
        if readme.exists() and readme.read_text() == wanted:
            continue
        stale.append(readme)
        if not args.check:
            readme.write_text(wanted)
    if args.check and stale:
        print("Out of date (run python scripts/tfdocs.py):", *map(str, stale), sep="\n  ")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
