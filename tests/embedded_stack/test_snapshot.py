"""Unit tests of the saved state's file and of the decision to trust it (no stack is started): a torn,
corrupted or foreign snapshot, a previous run that did not stop cleanly, or a port that cannot be
had again, each discards it with a reason; a second stack on the same state dir is refused."""

from __future__ import annotations

import json
import os
import socket
import sys
import zipfile
from pathlib import Path

import pytest

from embedded_stack import snapshot as snap
from embedded_stack.restart import MARK_NAME, SavedState

TFSTATE = json.dumps(
    {
        "version": 4,
        "outputs": {"region": {"value": "us-east-1", "type": "string"}, "table_name": {"value": "t"}},
    }
).encode()


def _snapshot(port: int = 45999) -> snap.Snapshot:
    return snap.Snapshot(
        fingerprint={"terraform": "a" * 64, "functions": "b" * 64},
        endpoint_url=f"http://127.0.0.1:{port}",
        checkpoints={("uuid-1", "shard-1"): "000100"},
        created_at=1_764_000_000.0,
        moto_state=b"moto bytes",
        tfstate=TFSTATE,
    )


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_saved_snapshot_reads_back_whole(tmp_path: Path):
    snap.save(tmp_path / snap.FILE_NAME, _snapshot())
    loaded = snap.load(tmp_path / snap.FILE_NAME)
    assert loaded == _snapshot()
    assert loaded.port == 45999
    assert loaded.outputs() == {"region": "us-east-1", "table_name": "t"}
    assert [p.name for p in tmp_path.iterdir()] == [snap.FILE_NAME]  # no temporary file left
    assert (tmp_path / snap.FILE_NAME).stat().st_mode & 0o777 == 0o600  # keys and key material inside


def test_a_torn_snapshot_is_detected_and_discarded(tmp_path: Path, capsys):
    path = tmp_path / snap.FILE_NAME
    snap.save(path, _snapshot())
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # a crash mid-write, without our rename
    with pytest.raises(snap.Untrusted, match="partial or corrupted"):
        snap.load(path)
    state = SavedState(tmp_path, stage="local", console=sys.stdout)
    assert state.snapshot is None and not path.exists()
    state.report()
    assert "partial or corrupted" in capsys.readouterr().out and "starting fresh" in state.note
    state.release()


def test_a_member_that_does_not_match_its_checksum_is_refused(tmp_path: Path):
    path = tmp_path / snap.FILE_NAME
    snap.save(path, _snapshot())
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    members["moto.pickle"] = b"moto bytes, altered"
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(snap.Untrusted, match=r"moto\.pickle does not match its checksum"):
        snap.load(path)


def test_a_snapshot_of_another_format_is_refused(tmp_path: Path):
    path = tmp_path / snap.FILE_NAME
    snap.save(path, _snapshot())
    with zipfile.ZipFile(path) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    manifest = json.loads(members["manifest.json"])
    manifest["format"] = snap.FORMAT + 1
    members["manifest.json"] = json.dumps(manifest).encode()
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    with pytest.raises(snap.Untrusted, match="format"):
        snap.load(path)


def test_after_a_run_that_did_not_stop_cleanly_the_next_starts_fresh_and_says_why(tmp_path: Path):
    snap.save(tmp_path / snap.FILE_NAME, _snapshot())
    (tmp_path / MARK_NAME).write_text(json.dumps({"pid": 4242, "started": "2026-11-29 10:00:00"}))
    state = SavedState(tmp_path, stage="local")
    assert state.snapshot is None and not (tmp_path / snap.FILE_NAME).exists()
    assert "pid 4242" in state.note and "did not stop cleanly" in state.note
    state.release()


def test_a_clean_previous_stop_is_trusted_and_fresh_discards_it(tmp_path: Path):
    snap.save(tmp_path / snap.FILE_NAME, _snapshot())
    state = SavedState(tmp_path, stage="local")
    assert state.snapshot == _snapshot()
    assert state.checkpoints() == {("uuid-1", "shard-1"): "000100"}
    state.release()
    state = SavedState(tmp_path, stage="local", fresh=True)
    assert state.snapshot is None and "--fresh" in state.note
    assert not (tmp_path / snap.FILE_NAME).exists()
    state.release()


def test_a_second_stack_on_the_same_state_dir_is_refused(tmp_path: Path):
    first = SavedState(tmp_path, stage="local")
    first.mark_running()
    with pytest.raises(SystemExit, match="another embedded stack is running"):
        SavedState(tmp_path, stage="local")
    assert json.loads((tmp_path / MARK_NAME).read_text())["pid"] == os.getpid()
    first.release()


def test_the_saved_port_is_reused_when_free_and_otherwise_the_state_is_discarded(tmp_path: Path, monkeypatch):
    monkeypatch.delenv("EMBEDDED_AWS_PORT", raising=False)
    port = _free_port()
    snap.save(tmp_path / snap.FILE_NAME, _snapshot(port))
    state = SavedState(tmp_path, stage="local")
    assert state.aws_port(None) == port and state.snapshot is not None
    assert state.aws_port(0) == port  # "any free port" may be the saved one
    assert state.aws_port(port + 1) == port + 1  # another port asked for: queue URLs would lie
    assert state.snapshot is None and f"port {port + 1} is asked for" in state.note
    state.release()

    snap.save(tmp_path / snap.FILE_NAME, _snapshot(port))
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", port))
        busy.listen()
        state = SavedState(tmp_path, stage="local")
        assert state.aws_port(None) is None and state.snapshot is None
        assert f"port {port}" in state.note and "in use" in state.note
        state.release()


def test_the_fingerprint_names_what_changed(tmp_path: Path):
    artifacts = tmp_path / "build"
    artifacts.mkdir()
    (artifacts / "manifest.json").write_text('{"functions": {"get_item": {"sha256": "1"}}}')
    before = snap.source_parts() | snap.build_parts(artifacts, tmp_path / "tfdata")
    assert snap.source_parts() | snap.build_parts(artifacts, tmp_path / "tfdata") == before  # stable
    (artifacts / "manifest.json").write_text('{"functions": {"get_item": {"sha256": "2"}}}')
    after = snap.source_parts() | snap.build_parts(artifacts, tmp_path / "tfdata")
    assert snap.changed_parts(before, after) == ["built artifacts"]
    assert {"terraform", "stage files", "functions", "shared layer", "moto and our patches"} <= set(before)
