"""`make run`: serve the whole backend on 127.0.0.1 until Ctrl-C or SIGTERM.

    python -m embedded_stack [--ready-file PATH] [--fresh | --apply] [--no-reload]

Ports: EMBEDDED_API_PORT (default 8080, 0 = any free port), EMBEDDED_AWS_PORT (default 4566 when
free, else any). ``--ready-file`` gets a copy of ``.local/stack.json`` once everything serves.
A clean stop saves the state; the next run restores it (``--fresh`` starts from nothing instead,
``--apply`` restores it and runs `terraform apply` even when nothing changed). While it serves, a
save under functions/, shared/ or terraform/ is deployed (embedded_stack.reload) unless
``--no-reload`` is given; a run that deployed so makes the next restart run `terraform apply`.
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from embedded_stack.reload import RELOAD_NOTE, Reloader
from embedded_stack.stack import start_stack
from embedded_stack.stack_info import banner


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m embedded_stack", description=__doc__.splitlines()[0])
    parser.add_argument("--ready-file", type=Path, help="write the stack.json document here when ready")
    restart = parser.add_mutually_exclusive_group()
    restart.add_argument("--fresh", action="store_true", help="discard the saved state; start from nothing")
    restart.add_argument(
        "--apply", action="store_true", help="restore the saved state, then run terraform apply regardless"
    )
    parser.add_argument("--no-reload", action="store_true", help="do not deploy saved files while serving")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")

    stop = threading.Event()

    def _on_signal(signum: int, _frame: FrameType | None) -> None:
        stop.set()
        if not started.is_set():
            # Still starting (e.g. in terraform apply): unwind now; start_stack cleans up after itself.
            raise KeyboardInterrupt

    started = threading.Event()
    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    print(
        "Starting the embedded stack: moto, terraform apply (workspace local), runner, gateway...", flush=True
    )
    reloader = None if args.no_reload else Reloader(console=sys.stdout).watch()  # saves while starting count
    try:
        handle = start_stack(ready_file=args.ready_file, fresh=args.fresh, converge=args.apply)
    except BaseException as exc:
        if reloader is not None:
            reloader.stop()
        if isinstance(exc, KeyboardInterrupt):
            print("Interrupted while starting; everything started so far was stopped.", file=sys.stderr)
            return 130
        raise
    started.set()
    try:
        print(banner(handle), flush=True)
        if reloader is not None:
            reloader.serve(handle)
            print(RELOAD_NOTE, flush=True)
        while not stop.wait(0.5):
            pass
    finally:
        print("Stopping the embedded stack...", flush=True)
        if reloader is not None:
            reloader.stop()
        handle.stop()
        if args.ready_file is not None:
            args.ready_file.unlink(missing_ok=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
