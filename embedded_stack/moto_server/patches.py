"""Patches to the moto server that runs in our process, so that it behaves like AWS where we rely on it.

Every patch checks the moto internals it replaces and raises ``MotoPatchError`` when they changed:
moto is pinned in requirements/dev.txt, and an upgrade must fail loudly here, not silently later.

1. Streams: moto pushes each DynamoDB stream record to "Lambda" when an event source mapping exists
   and then EMPTIES the shard (see docs/embedded-stack.md). Our pollers read the stream through the
   DynamoDB Streams API like Lambda does, so moto must only append. Records also get the table's
   region (moto hard-codes us-east-1), and used shard iterators are pruned so polling does not leak.
2. Code download: moto answers GetFunction/GetLayerVersion with a Location nobody serves. We serve
   the stored zip bytes from the moto server itself (as AWS serves a presigned S3 URL) so that the
   runner downloads exactly what was deployed and checks CodeSha256.
3. Bucket policies: evaluated with the caller's principal and IAM's condition semantics
   (``_patch_policy_conditions``), so that "only this role may write" holds locally too.
4. Browsers: moto's server allows CORS from every origin and authenticates nothing, so during
   `make run` any web page could read the partners' keys and data, or send writes blind. CORS is off
   and requests only browsers send (an ``Origin`` or ``Sec-Fetch-*`` header) are refused: on AWS a
   page cannot sign requests; here nothing would stop it.
"""

from __future__ import annotations

import fnmatch
import hashlib
import inspect
import json
import re
import threading
from typing import Any
from urllib.parse import parse_qs, quote, urlparse

from embedded_stack.moto_server import dynamodb_patches
from embedded_stack.moto_server.dynamodb_patches import serialize_dynamodb_writes
from embedded_stack.moto_server.internals import MotoPatchError, require, source_has

__all__ = [
    "CODE_PATH",
    "MotoPatchError",
    "code_location",
    "install",
    "serialize_dynamodb_writes",
    "set_endpoint_url",
]

CODE_PATH = "/moto-api/embedded/code"
_MAX_SHARD_ITERATORS = 10_000

_lock = threading.Lock()
_install_lock = threading.Lock()
_installed = False
_endpoint_url: str | None = None
# sha256 hex -> object holding ``code_bytes`` (a function version or a layer version).
_code_by_digest: dict[str, Any] = {}


def _patch_stream_shard() -> None:
    from moto.dynamodb.models import table as table_mod

    shard_cls = getattr(table_mod, "StreamShard", None)
    require(shard_cls is not None, "moto.dynamodb.models.table.StreamShard is gone")
    original = shard_cls.add
    require(
        list(inspect.signature(original).parameters) == ["self", "old", "new"]
        and source_has(original, "send_dynamodb_items", "self.items = []", "starting_sequence_number"),
        "StreamShard.add no longer pushes to Lambda and empties the shard as expected",
    )
    require(
        list(inspect.signature(table_mod.StreamRecord.__init__).parameters)
        == ["self", "table", "stream_type", "event_name", "old", "new", "seq"],
        "StreamRecord.__init__ changed its signature",
    )

    def add(self: Any, old: Any, new: Any) -> None:
        """Append the change record; never deliver it ourselves, never empty the shard."""
        view_type = self.table.stream_specification["StreamViewType"]
        if old is None:
            event_name = "INSERT"
        elif new is None:
            event_name = "REMOVE"
        else:
            event_name = "MODIFY"
        pending = dynamodb_patches.pending_records(self)  # a transaction's: appended when it commits
        seq = len(self.items) + len(pending or ()) + self.starting_sequence_number
        record = table_mod.StreamRecord(self.table, view_type, event_name, old, new, seq)
        record.record["awsRegion"] = self.table.region_name
        (self.items if pending is None else pending).append(record)

    add.__wrapped__ = original  # type: ignore[attr-defined]
    shard_cls.add = add


class _NoLambdaPush(dict):  # type: ignore[type-arg]
    """A queue's record of its Lambda mappings that stays empty: moto would otherwise receive the
    messages itself at every send and push them to Lambda (Docker). event_sources.sqs_queues polls."""

    def __setitem__(self, key: Any, value: Any) -> None:
        return None


def _patch_sqs_lambda_push() -> None:
    from moto.sqs import models as sqs_models

    queue_cls = sqs_models.Queue
    require(
        source_has(queue_cls.__init__, "self.lambda_event_source_mappings")
        and source_has(sqs_models.Queue.add_message, "lambda_event_source_mappings"),
        "moto's SQS Queue no longer keeps lambda_event_source_mappings as expected",
    )
    original = queue_cls.__init__

    def init(self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.lambda_event_source_mappings = _NoLambdaPush()

    init.__wrapped__ = original  # type: ignore[attr-defined]
    queue_cls.__init__ = init


def _patch_sqs_redrive_policy_format() -> None:
    """GetQueueAttributes returns RedrivePolicy as compact JSON, as SQS does; moto's spaced JSON made
    every plan of a queue with a DLQ show a (whitespace) change to ``redrive_policy``."""
    from moto.sqs import models as sqs_models

    queue_cls = sqs_models.Queue
    original = queue_cls.attributes
    require(
        isinstance(original, property) and source_has(original.fget, "json.dumps(self.redrive_policy)"),
        "moto's SQS Queue.attributes no longer renders RedrivePolicy as expected",
    )

    def attributes(self: Any) -> dict[str, Any]:
        result = original.fget(self)
        if self.redrive_policy and "RedrivePolicy" in result:
            result["RedrivePolicy"] = json.dumps(self.redrive_policy, separators=(",", ":"))
        return result

    attributes.__wrapped__ = original.fget  # type: ignore[attr-defined]
    queue_cls.attributes = property(attributes)


def _patch_shard_iterator_pruning() -> None:
    from moto.dynamodbstreams import models as streams_mod

    backend_cls = streams_mod.DynamoDBStreamsBackend
    original = backend_cls.get_records
    require(
        source_has(original, "self.shard_iterators[iterator_arn]"),
        "DynamoDBStreamsBackend.get_records no longer looks iterators up in shard_iterators",
    )

    def get_records(self: Any, iterator_arn: str, limit: int) -> dict[str, Any]:
        """As moto's, but keep the iterator table bounded (AWS expires iterators after 15 min)."""
        result = original(self, iterator_arn, limit)
        iterators = self.shard_iterators
        excess = len(iterators) - _MAX_SHARD_ITERATORS
        if excess > 0:
            for key in list(iterators)[:excess]:
                iterators.pop(key, None)
        return result

    get_records.__wrapped__ = original  # type: ignore[attr-defined]
    backend_cls.get_records = get_records


def code_location(digest_hex: str) -> str:
    """The URL the moto server serves a stored zip from (needs ``set_endpoint_url`` first)."""
    if _endpoint_url is None:
        raise RuntimeError("moto_patches.set_endpoint_url() was not called after the server started")
    return f"{_endpoint_url}{CODE_PATH}?sha256={quote(digest_hex)}"


def _register(holder: Any) -> str:
    digest = holder.code_digest or hashlib.sha256(holder.code_bytes).hexdigest()
    with _lock:
        _code_by_digest[digest] = holder
    return digest


def _patch_code_locations() -> None:
    from moto.awslambda import models as lambda_mod

    fn_cls = lambda_mod.LambdaFunction
    layer_cls = lambda_mod.LayerVersion
    require(
        source_has(fn_cls.get_code, '"Location"', "S3Key"),
        "LambdaFunction.get_code no longer returns Code.Location",
    )
    require(
        source_has(layer_cls.get_layer_version, '"Content"', '"Location"'),
        "LayerVersion.get_layer_version no longer returns Content.Location",
    )
    original_get_code = fn_cls.get_code
    original_get_layer = layer_cls.get_layer_version

    def get_code(self: Any) -> dict[str, Any]:
        resp = original_get_code(self)
        code = resp.get("Code") or {}
        if code.get("RepositoryType") == "S3" and getattr(self, "code_bytes", b"") and _endpoint_url:
            code["Location"] = code_location(_register(self))
        return resp

    def get_layer_version(self: Any) -> dict[str, Any]:
        resp = original_get_layer(self)
        if getattr(self, "code_bytes", b"") and _endpoint_url:
            resp["Content"]["Location"] = code_location(_register(self))
        return resp

    get_code.__wrapped__ = original_get_code  # type: ignore[attr-defined]
    get_layer_version.__wrapped__ = original_get_layer  # type: ignore[attr-defined]
    fn_cls.get_code = get_code
    layer_cls.get_layer_version = get_layer_version


def _serve_code(request: Any, full_url: str, headers: Any) -> tuple[int, dict[str, str], bytes | str]:
    """GET handler for stored zips, keyed by the sha256 of their bytes."""
    digest = (parse_qs(urlparse(full_url).query).get("sha256") or [""])[0]
    with _lock:
        holder = _code_by_digest.get(digest)
    if holder is None:
        return 404, {"Content-Type": "application/json"}, '{"message": "no such code"}'
    return 200, {"Content-Type": "application/zip"}, holder.code_bytes


def _patch_code_route() -> None:
    from moto.moto_api._internal import urls as api_urls

    require(isinstance(getattr(api_urls, "url_paths", None), dict), "moto_api url_paths changed")
    api_urls.url_paths["{0}" + CODE_PATH + "$"] = _serve_code


# Condition operators evaluated as IAM does (with their IfExists forms); a statement using any other
# operator is not applied (docs/embedded-stack.md lists this).
_POSITIVE = {
    "StringEquals": lambda want, have: have == want,
    "StringLike": lambda want, have: fnmatch.fnmatchcase(have, want),
    "ArnEquals": lambda want, have: have == want,
    "ArnLike": lambda want, have: fnmatch.fnmatchcase(have, want),
    "Bool": lambda want, have: str(have).lower() == str(want).lower(),
}
_NEGATED = {
    "StringNotEquals": "StringEquals",
    "StringNotLike": "StringLike",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}
_request_context = threading.local()


def conditions_hold(condition: dict[str, Any], context: dict[str, str]) -> bool | None:
    """Whether a policy statement's Condition holds for a request context (None: cannot tell).

    IAM's rules: operators AND, keys AND, values OR (NOR for negated operators). A key absent from
    the context fails a positive operator and satisfies a negated one; ...IfExists holds when absent.
    """
    for raw_operator, keys in condition.items():
        operator = raw_operator.removesuffix("IfExists")
        if_exists = operator != raw_operator
        negated = operator in _NEGATED
        match = _POSITIVE.get(_NEGATED.get(operator, operator))
        if match is None or not isinstance(keys, dict):
            return None
        for key, wanted in keys.items():
            values = wanted if isinstance(wanted, list) else [wanted]
            if key not in context:
                if not (if_exists or negated):
                    return False
                continue
            hit = any(match(str(v), context[key]) for v in values)
            if hit == negated:
                return False
    return True


def _principal_context(headers: Any) -> dict[str, str]:
    """aws:PrincipalArn/aws:PrincipalAccount of a SigV4-signed request, when moto issued its key.

    Keys moto knows: access keys of IAM users, and credentials of roles assumed through STS (for a
    role session, aws:PrincipalArn is the role's ARN, as in IAM). Any other key (the fixed fake
    credentials most local clients use) yields no principal, like an anonymous request on AWS.
    """
    from moto.iam.models import iam_backends
    from moto.sts.models import sts_backends

    match = re.search(r"Credential=([^/,\s]+)/", str(headers.get("Authorization", "")))
    if not match:
        return {}
    key = match.group(1)
    for account, partitions in list(sts_backends.items()):
        for backend in list(partitions.values()):
            for role in list(backend.assumed_roles):
                if role.access_key_id == key:
                    return {"aws:PrincipalArn": role.role_arn, "aws:PrincipalAccount": account}
    for account, partitions in list(iam_backends.items()):
        for partition, backend in list(partitions.items()):
            for user in list(backend.users.values()):
                if any(k.access_key_id == key for k in user.access_keys):
                    arn = f"arn:{partition}:iam::{account}:user/{user.name}"
                    return {"aws:PrincipalArn": arn, "aws:PrincipalAccount": account}
    return {}


def _patch_policy_conditions() -> None:
    """Bucket policies see who is asking, and their Conditions are evaluated as IAM does.

    moto 5.2 evaluates a bucket policy with no request context and treats condition operators it does
    not implement (``Bool``, ``ArnNotEquals``...) as holding, so the audit bucket's TLS-only Deny
    denied every read and its writers-only Deny would deny its writer. Here object and bucket requests
    carry the caller's principal (``_principal_context``), and a statement applies only when its
    Condition holds (``conditions_hold``). ``aws:SecureTransport`` is never in the context (moto
    serves plain HTTP), so the TLS-only Deny does not apply: a documented difference.
    """
    from moto.iam.access_control import IAMPolicy, IAMPolicyStatement, PermissionResult
    from moto.s3.models import FakeBucket
    from moto.s3.responses import S3Response

    original = IAMPolicyStatement.is_action_permitted
    require(
        source_has(original, "_check_conditions(incoming_condition_values)", "PermissionResult.DENIED"),
        "IAMPolicyStatement.is_action_permitted changed",
    )
    require(
        source_has(FakeBucket.get_permission, "iam_policy.is_action_permitted(action, resource)"),
        "FakeBucket.get_permission changed",
    )
    for name in ("key_response", "bucket_response"):
        require(
            list(inspect.signature(getattr(S3Response, name)).parameters)
            == ["self", "request", "full_url", "headers"],
            f"S3Response.{name} changed its signature",
        )
    if getattr(original, "__wrapped__", None):
        return

    def is_action_permitted(
        self: Any,
        action: str,
        resource: str = "*",
        principal: str | None = None,
        incoming_condition_values: dict[str, str] | None = None,
    ) -> Any:
        condition = self._statement.get("Condition")
        if not condition:
            return original(self, action, resource, principal, incoming_condition_values)
        if not conditions_hold(condition, incoming_condition_values or {}):
            return PermissionResult.NEUTRAL  # the statement does not apply to this request
        return original(self, action, resource, principal, None)

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        context = getattr(_request_context, "values", None) or {}
        return IAMPolicy(self.policy.decode()).is_action_permitted(
            action, resource, incoming_condition_values=context
        )

    def with_context(handler: Any) -> Any:
        def wrapped(self: Any, request: Any, full_url: str, headers: Any) -> Any:
            _request_context.values = _principal_context(request.headers)
            try:
                return handler(self, request, full_url, headers)
            finally:
                _request_context.values = None

        wrapped.__wrapped__ = handler  # type: ignore[attr-defined]
        return wrapped

    is_action_permitted.__wrapped__ = original  # type: ignore[attr-defined]
    get_permission.__wrapped__ = FakeBucket.get_permission  # type: ignore[attr-defined]
    IAMPolicyStatement.is_action_permitted = is_action_permitted  # type: ignore[method-assign]
    FakeBucket.get_permission = get_permission  # type: ignore[method-assign]
    S3Response.key_response = with_context(S3Response.key_response)  # type: ignore[method-assign]
    S3Response.bucket_response = with_context(S3Response.bucket_response)  # type: ignore[method-assign]


_BROWSER_ONLY = ("HTTP_ORIGIN", "HTTP_SEC_FETCH_MODE", "HTTP_SEC_FETCH_SITE", "HTTP_SEC_FETCH_DEST")
_REFUSED = b'{"message":"Browser requests are refused: this endpoint serves AWS SDKs and Terraform only"}'


def _patch_browser_access() -> None:
    """No CORS headers, and no request a browser sends (the control plane is for SDKs only)."""
    from moto.moto_server import werkzeug_app

    require(
        hasattr(werkzeug_app, "DISABLE_GLOBAL_CORS")
        and source_has(werkzeug_app.create_backend_app, "if not DISABLE_GLOBAL_CORS", "CORS(backend_app)"),
        "create_backend_app no longer enables flask-cors behind DISABLE_GLOBAL_CORS",
    )
    werkzeug_app.DISABLE_GLOBAL_CORS = True  # read when each service's app is first created
    dispatcher = werkzeug_app.DomainDispatcherApplication
    original = dispatcher.__call__
    require(
        list(inspect.signature(original).parameters) == ["self", "environ", "start_response"],
        "DomainDispatcherApplication.__call__ is no longer the WSGI entry point",
    )

    def __call__(self: Any, environ: dict[str, Any], start_response: Any) -> Any:
        if any(name in environ for name in _BROWSER_ONLY):
            start_response(
                "403 Forbidden",
                [("Content-Type", "application/json"), ("Content-Length", str(len(_REFUSED)))],
            )
            return [_REFUSED]
        return original(self, environ, start_response)

    __call__.__wrapped__ = original  # type: ignore[attr-defined]
    dispatcher.__call__ = __call__  # type: ignore[method-assign]


def set_endpoint_url(url: str) -> None:
    """Tell the Location patch where the moto server listens."""
    global _endpoint_url  # noqa: PLW0603 - one server per process; set once it has a port
    _endpoint_url = url.rstrip("/")


def install() -> None:
    """Apply every patch once per process, before the server answers its first request."""
    global _installed  # noqa: PLW0603 - patches are process-wide by nature
    with _install_lock:
        if _installed:
            return
        _patch_stream_shard()
        _patch_shard_iterator_pruning()
        _patch_code_locations()
        _patch_code_route()
        _patch_policy_conditions()
        _patch_sqs_lambda_push()
        _patch_sqs_redrive_policy_format()
        _patch_browser_access()
        _installed = True
