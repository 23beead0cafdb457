"""`make logs FN=<function>`: follow one function's log while `make run` serves.

    python -m embedded_stack.tail get_item          # or the deployed name, items-local-get_item

Prints the last lines of ``<state dir>/logs/<function name>.log`` and then every new line, like
`tail -F`: it waits for a log that does not exist yet (a function not invoked since `make run`
started) and starts again from the top when a new `make run` replaces the file.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import threading
from pathlib import Path
from typing import IO

from embedded_stack.lambda_runtime import DEFAULT_STATE_DIR
from embedded_stack.stack import STATE_DIR_ENV
from scripts.build import FUNCTIONS, function_names

POLL_S = 0.2


def find_log(logs: Path, function: str) -> Path | None:
    """The log of a function given by manifest name (get_item) or deployed name (items-local-get_item)."""
    exact = logs / f"{function}.log"
    if exact.exists():
        return exact
    matches = sorted(logs.glob(f"*-{function}.log"), key=lambda p: p.stat().st_mtime)
    return matches[-1] if matches else None


def follow(
    logs: Path, function: str, out: IO[str], *, last: int = 20, stop: threading.Event | None = None
) -> None:
    """Print the last ``last`` lines, then follow until interrupted (or ``stop`` is set)."""
    stop = stop or threading.Event()
    handle: IO[str] | None = None
    inode = None
    waiting_said = reopened = False
    while not stop.is_set():
        path = find_log(logs, function)
        if path is not None and handle is None:
            handle = path.open(encoding="utf-8", errors="replace")
            inode = os.fstat(handle.fileno()).st_ino
            past = handle.readlines()
            out.write("".join(past if reopened else past[-last:] if last > 0 else []))
        elif path is None and handle is None and not waiting_said:
            out.write(f"(no log yet: waiting for {function}'s first invocation, in {logs}/)\n")
            waiting_said = True
        if handle is not None:
            line = handle.readline()
            if line:
                out.write(line)
                continue
            try:
                now = path.stat() if path is not None else None
            except OSError:
                now = None
            if now is None or now.st_ino != inode or now.st_size < handle.tell():
                # a new `make run` started a new log: all of it is new
                handle.close()
                handle, reopened = None, True
                continue
        out.flush()
        stop.wait(POLL_S)
    if handle is not None:
        handle.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="make logs FN=<function>", description=__doc__.splitlines()[0])
    parser.add_argument("function", nargs="?", default="", help="manifest name (get_item) or deployed name")
    parser.add_argument("--lines", type=int, default=20, help="how many past lines to print first")
    args = parser.parse_args(argv)
    known = function_names(FUNCTIONS)
    state_dir = Path(os.environ.get(STATE_DIR_ENV) or DEFAULT_STATE_DIR)
    logs = state_dir / "logs"
    choices = f"one of: {', '.join(known)}"
    if not args.function:
        print(f"usage: make logs FN=<function>  ({choices})", file=sys.stderr)
        return 2
    if args.function not in known and find_log(logs, args.function) is None:
        print(f"unknown function {args.function!r}: make logs FN=<function> with {choices}", file=sys.stderr)
        return 2
    print(f"Following {args.function} in {logs}/ (Ctrl-C stops)", file=sys.stderr, flush=True)
    with contextlib.suppress(KeyboardInterrupt):
        follow(logs, args.function, sys.stdout, last=args.lines)
    return 0


if __name__ == "__main__":
    sys.exit(main())
