"""`make soak`: start the embedded stack on loopback, soak it under faults, reconcile, report.

    python -m benchmarks.soak [--requests N] [--duration S] [--clients-per-partner C] [--json FILE]
    python -m benchmarks.soak --stack-json .local/stack.json --faults-file .local/faults.json

Without ``--stack-json`` the stack is started in a child process (``stack.child_stack``) with its state
in ``.local/soak`` and free ports, so a `make run` elsewhere is left alone. Exit status 1 when
anything did not reconcile.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlparse

from benchmarks.soak import driver
from benchmarks.soak.stack import child_stack
from benchmarks.soak.target import from_stack_document

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = {"127.0.0.1", "localhost", "::1"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.soak", description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000, help="stop after this many requests")
    parser.add_argument("--duration", type=float, default=240.0, help="or after this many seconds")
    parser.add_argument("--clients-per-partner", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--stack-json", type=Path, help="drive a running stack (its stack.json)")
    parser.add_argument("--faults-file", type=Path, help="the fault spec file that stack reads")
    parser.add_argument("--json", type=Path, help="also write the figures and violations here")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    with ExitStack() as stack:
        if args.stack_json:
            if not args.faults_file:
                parser.error("--stack-json needs --faults-file, the spec file that stack reads")
            document, faults_file = json.loads(args.stack_json.read_text()), args.faults_file
        else:
            state = ROOT / ".local" / "soak"
            faults_file = state / "faults.json"
            print(
                "Starting the embedded stack for the soak (terraform apply of the local workspace)...",
                flush=True,
            )
            document = stack.enter_context(child_stack(state, faults_file))
        hosts = {urlparse(document["api_url"]).hostname, urlparse(document["aws_endpoint_url"]).hostname}
        if not hosts <= LOOPBACK:
            parser.error(f"the soak floods the API and injects faults: loopback only, not {sorted(hosts)}")
        findings = driver.run(
            from_stack_document(document, faults_file),
            requests=args.requests,
            duration_s=args.duration,
            clients_per_partner=args.clients_per_partner,
            seed=args.seed,
        )
    print(driver.render(findings), flush=True)
    if args.json:
        args.json.write_text(json.dumps({**findings.figures, "violations": findings.violations}, indent=2))
    return 1 if findings.violations else 0


if __name__ == "__main__":
    sys.exit(main())
