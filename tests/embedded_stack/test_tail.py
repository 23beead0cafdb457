"""`make logs FN=<function>`: one function's log, followed across a restart of `make run`."""

from __future__ import annotations

import io
import threading
import time
from pathlib import Path

import pytest

from embedded_stack import tail


def test_no_function_or_an_unknown_one_is_a_clear_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("EMBEDDED_STATE_DIR", str(tmp_path))
    assert tail.main([]) == 2
    assert "usage: make logs FN=<function>" in capsys.readouterr().err
    assert tail.main(["no_such_function"]) == 2
    err = capsys.readouterr().err
    assert "unknown function 'no_such_function'" in err
    assert "get_item" in err  # it says which names exist


class _Output(io.StringIO):
    def text(self) -> str:
        return self.getvalue()


def _wait_for(out: _Output, text: str, timeout_s: float = 10.0) -> None:
    deadline = time.monotonic() + timeout_s
    while text not in out.text():
        assert time.monotonic() < deadline, f"never printed {text!r}: {out.text()!r}"
        time.sleep(0.05)


def test_follows_by_manifest_name_waits_for_the_log_and_starts_over_when_a_new_run_replaces_it(
    tmp_path: Path,
) -> None:
    logs = tmp_path / "logs"
    logs.mkdir()
    (logs / "items-local-get_item_other.log").write_text("not this one\n")
    out, stop = _Output(), threading.Event()
    follower = threading.Thread(target=tail.follow, args=(logs, "get_item", out), kwargs={"stop": stop})
    follower.start()
    _wait_for(out, "no log yet")
    log = logs / "items-local-get_item.log"
    log.write_text("".join(f"old {i}\n" for i in range(30)))
    _wait_for(out, "old 29")
    assert "old 9\n" not in out.text()  # only the last 20 lines of what was there
    with log.open("a") as handle:
        handle.write("START RequestId: 1\n")
    _wait_for(out, "START RequestId: 1")
    log.unlink()  # the next `make run` wipes the logs and writes afresh
    log.write_text("new run 1\nnew run 2\n")
    _wait_for(out, "new run 2")
    stop.set()
    follower.join(timeout=5)
    assert "not this one" not in out.text()
