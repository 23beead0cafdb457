"""Fast restart: one run's use of the state a previous run saved, and what it saves when it stops.

A run owns its state directory through an exclusive lock (``run.lock``: two stacks on one state dir
would overwrite each other's state) and marks it busy (``run.json``) until it has stopped cleanly and
saved a snapshot (``snapshot``). A later run trusts the snapshot only when all of these hold, and
otherwise starts from nothing and says why:

- the previous run stopped cleanly: ``run.json`` is gone (a killed or crashed run leaves it behind,
  since what moto held in memory then is lost and Terraform may have been mid-apply);
- the file reads whole and every member matches its checksum;
- the moto port it was deployed at is free and not overridden (queue URLs carry the port);
- after loading, the resources Terraform's state names exist in moto.

When the fingerprint of what the deployment depends on is unchanged, Terraform is not run at all: its
outputs are read from the saved state. When it changed, the saved state is loaded and
``terraform apply`` converges it (an incremental apply, as after any edit). ``--fresh`` discards it.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
import urllib.request
from concurrent.futures import Future
from pathlib import Path
from typing import IO, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError

from embedded_stack import snapshot as snap
from embedded_stack.moto_server import persistence, port_from_env, port_is_free
from embedded_stack.moto_server.server import PORT_ENV

LOCK_NAME = "run.lock"
MARK_NAME = "run.json"


def _say(console: IO[str] | None, message: str) -> None:
    if console is not None:
        print(message, file=console, flush=True)


class SavedState:
    """The state dir's lock, the previous run's snapshot (when it can be trusted), and saving anew."""

    def __init__(
        self,
        state_dir: Path,
        *,
        stage: str,
        fresh: bool = False,
        converge: bool = False,
        console: IO[str] | None = None,
    ) -> None:
        self._dir = state_dir
        self._stage = stage
        self._converge = converge
        self._console = console
        self.path = state_dir / snap.FILE_NAME
        self.snapshot: snap.Snapshot | None = None
        self.fingerprint: dict[str, str] | None = None  # of what this run deployed or restored
        self.note = ""
        state_dir.mkdir(parents=True, exist_ok=True)
        self._lock = self._take_lock()
        previous = self._previous_run()
        if fresh:
            self._discard("--fresh: starting from nothing")
        elif previous is not None:
            self._discard(
                f"the previous run (pid {previous.get('pid')}, started {previous.get('started')}) did not "
                "stop cleanly (killed or crashed), so what it held cannot be trusted: starting fresh"
            )
        else:
            try:
                self.snapshot = snap.load(self.path)
            except snap.Untrusted as exc:
                self._discard(f"{exc}: starting fresh" if self.path.exists() else "no saved state: first run")

    @property
    def tfstate_path(self) -> Path:
        """Where the local backend keeps the stage workspace's state (scripts.tf's workspace_dir)."""
        return self._dir / "tfstate" / self._stage / "terraform.tfstate"

    # -- start ---------------------------------------------------------------------------

    def _take_lock(self) -> IO[bytes]:
        handle = (self._dir / LOCK_NAME).open("wb")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise SystemExit(
                f"another embedded stack is running on {self._dir} (see {self._dir / MARK_NAME}); "
                "stop it first, or give this one its own EMBEDDED_STATE_DIR"
            ) from None
        return handle

    def _previous_run(self) -> dict[str, Any] | None:
        mark = self._dir / MARK_NAME
        if not mark.exists():
            return None
        try:
            return dict(json.loads(mark.read_text()))
        except (ValueError, OSError, TypeError):
            return {"pid": "?", "started": "?"}

    def _discard(self, reason: str) -> None:
        self.snapshot = None
        self.path.unlink(missing_ok=True)
        self.note = reason

    def mark_running(self) -> None:
        """From here until a clean stop has saved, a crash makes the next run start fresh."""
        started = time.strftime("%Y-%m-%d %H:%M:%S")
        _write_json(self._dir / MARK_NAME, {"pid": os.getpid(), "started": started})

    def aws_port(self, requested: int | None) -> int | None:
        """The moto port: the one the saved state was deployed at, unless another is asked for."""
        if self.snapshot is None:
            return requested
        saved = self.snapshot.port
        asked = requested if requested is not None else port_from_env(PORT_ENV, -1)
        if asked not in (-1, 0, saved):
            self._discard(
                f"the saved state was deployed at port {saved} and port {asked} is asked for "
                "(its queue URLs name the port): starting fresh"
            )
            return requested
        if not port_is_free(saved):
            self._discard(f"port {saved}, which the saved state was deployed at, is in use: starting fresh")
            return requested
        return saved

    def load_into_moto(self) -> None:
        """Install the saved moto state (before the server serves its first request)."""
        if self.snapshot is not None:
            persistence.load_state(self.snapshot.moto_state)

    def resume(self, endpoint_url: str, built: Future[Path], data_dir: Path) -> dict[str, Any] | None:
        """Terraform's outputs when the restored state can be served as it is; None when
        ``terraform apply`` must run (on the restored state, or from nothing when it was reset).
        ``built``: the artifacts' directory, still being built while moto is checked."""
        saved = self.snapshot
        if saved is None:
            return None
        self.tfstate_path.parent.mkdir(parents=True, exist_ok=True)
        self.tfstate_path.write_bytes(saved.tfstate)
        problem = verify(endpoint_url, saved.tfstate)
        if problem is not None:
            _reset_moto(endpoint_url)
            self.tfstate_path.unlink()
            self._discard(f"the saved state does not match Terraform's ({problem}): starting fresh")
            return None
        when = snap.age(saved)
        current = snap.source_parts() | snap.build_parts(built.result(), data_dir)
        changed = snap.changed_parts(saved.fingerprint, current)
        if changed:
            self.note = f"restored the state saved {when}; changed since: {', '.join(changed)}"
            if snap.HOT_RELOAD in saved.fingerprint:
                reuploaded = reupload_artifacts(endpoint_url, saved.tfstate, built.result())
                self.note += f" (the tree's zips put over the {len(reuploaded)} the hot reload uploaded)"
            self.note += ": terraform apply converges it"
            return None
        if self._converge:
            self.note = f"restored the state saved {when}; nothing changed; terraform apply as asked"
            return None
        self.fingerprint = current
        self.note = f"restored the state saved {when}; nothing changed: terraform apply skipped"
        return saved.outputs()

    def checkpoints(self) -> dict[tuple[str, str], str]:
        return dict(self.snapshot.checkpoints) if self.snapshot is not None else {}

    def deployed(self, sources: dict[str, str], artifact_dir: Path, data_dir: Path) -> None:
        """After `terraform apply`: what this run's state was deployed from."""
        self.fingerprint = sources | snap.build_parts(artifact_dir, data_dir)

    def diverging(self, how: str) -> None:
        """Moto is about to change in a way the fingerprint does not record: a hot reload publishing
        code Terraform's state does not know, or a `terraform apply` while serving, which can fail
        midway. The fingerprint gains a part no tree has (``HOT_RELOAD``), so the next restart cannot
        find "nothing changed" (say, after the edit was undone in the tree) and serve code or
        resources that are not the tree's: it runs `terraform apply`, which converges moto and
        Terraform's state to the tree (a published zip shows there as its S3 object's new version).
        ``deployed()`` after a whole apply replaces the fingerprint, mark included."""
        if self.fingerprint is not None:
            self.fingerprint = {**self.fingerprint, snap.HOT_RELOAD: how}

    def report(self) -> None:
        _say(self._console, f"State: {self.note}")

    # -- stop ----------------------------------------------------------------------------

    def save(self, endpoint_url: str, checkpoints: dict[tuple[str, str], str]) -> float:
        """At a clean stop, with moto no longer serving: write the snapshot, then clear the mark.

        Returns the seconds spent. When moto's state cannot be saved, no snapshot is left behind and
        the console says so (the next run starts fresh)."""
        started = time.monotonic()
        try:
            if self.fingerprint is None:
                raise persistence.StateNotSaved("this run did not finish deploying")
            saved = snap.Snapshot(
                fingerprint=self.fingerprint,
                endpoint_url=endpoint_url,
                checkpoints=checkpoints,
                created_at=time.time(),
                moto_state=persistence.dump_state(),
                tfstate=self.tfstate_path.read_bytes(),
            )
            snap.save(self.path, saved)
            _say(self._console, f"State saved to {self.path} ({self.path.stat().st_size / 1e6:.1f} MB).")
        except (persistence.StateNotSaved, OSError) as exc:
            self.path.unlink(missing_ok=True)
            _say(self._console, f"State NOT saved ({exc}): the next run starts fresh.")
        (self._dir / MARK_NAME).unlink(missing_ok=True)
        return time.monotonic() - started

    def release(self) -> None:
        with contextlib.suppress(OSError):
            self._lock.close()


def _write_json(path: Path, document: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(document) + "\n")
    os.replace(tmp, path)


# Resource types whose existence in moto is checked after a restore, and how.
_CHECKS: dict[str, tuple[str, str, str, str]] = {
    # type: (service, operation, parameter, attribute in Terraform's state)
    "aws_lambda_function": ("lambda", "get_function", "FunctionName", "function_name"),
    "aws_dynamodb_table": ("dynamodb", "describe_table", "TableName", "name"),
    "aws_api_gateway_rest_api": ("apigateway", "get_rest_api", "restApiId", "id"),
    "aws_api_gateway_api_key": ("apigateway", "get_api_key", "apiKey", "id"),
    "aws_sqs_queue": ("sqs", "get_queue_attributes", "QueueUrl", "url"),
    "aws_s3_bucket": ("s3", "head_bucket", "Bucket", "bucket"),
    "aws_kms_key": ("kms", "describe_key", "KeyId", "key_id"),
}


def verify(endpoint_url: str, tfstate: bytes) -> str | None:
    """None when every checked resource in Terraform's state exists in moto, else what is missing."""
    document = json.loads(tfstate)
    region = (document.get("outputs") or {}).get("region", {}).get("value", "us-east-1")
    clients: dict[str, Any] = {}
    for resource in document.get("resources") or []:
        check = _CHECKS.get(resource.get("type", ""))
        if resource.get("mode") != "managed" or check is None:
            continue
        service, operation, parameter, attribute = check
        if service not in clients:
            clients[service] = boto3.client(
                service,
                endpoint_url=endpoint_url,
                region_name=region,
                aws_access_key_id="embedded",
                aws_secret_access_key="embedded",  # noqa: S106 - moto accepts anything
            )
        for instance in resource.get("instances") or []:
            value = (instance.get("attributes") or {}).get(attribute)
            try:
                getattr(clients[service], operation)(**{parameter: value})
            except (ClientError, BotoCoreError) as exc:
                return f"{resource['type']} {value!r}: {exc}"
    return None


def reupload_artifacts(endpoint_url: str, tfstate: bytes, artifact_dir: Path) -> list[str]:
    """Upload the tree's zips over the artifact objects a hot reload replaced; the keys uploaded.

    A hot reload uploads a new version of an object Terraform manages, and Terraform's object takes
    no notice (its ``source_hash`` is the configured one, not read back) while the function's
    ``s3_object_version`` follows the object's latest version. Were the edit undone in the tree
    before the next run, `terraform apply` would redeploy the hot-reloaded zip and record it as the
    tree's. Uploading the tree's zip as the object's latest version first makes that apply deploy
    the tree's code (and a layer object a new layer version) whatever the tree holds.
    """
    from embedded_stack.reload.publish import Publisher

    document = json.loads(tfstate)
    region = (document.get("outputs") or {}).get("region", {}).get("value", "us-east-1")
    publisher = Publisher(endpoint_url, region)
    uploaded = []
    for resource in document.get("resources") or []:
        if resource.get("type") != "aws_s3_object" or resource.get("mode") != "managed":
            continue
        for instance in resource.get("instances") or []:
            attributes = instance.get("attributes") or {}
            bucket, key = attributes.get("bucket"), attributes.get("key")
            source = artifact_dir / str(key)
            if not (bucket and key and source.is_file()):
                continue  # not one of the built zips
            latest = publisher.s3.head_object(Bucket=bucket, Key=key).get("VersionId")
            if latest != attributes.get("version_id"):
                publisher.upload(bucket, key, source)
                uploaded.append(key)
    return uploaded


def _reset_moto(endpoint_url: str) -> None:
    """moto's own reset: every backend emptied, as a fresh server."""
    request = urllib.request.Request(f"{endpoint_url}/moto-api/reset", data=b"", method="POST")  # noqa: S310
    with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310 - our loopback server
        response.read()
