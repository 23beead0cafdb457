"""Bucket policies on the embedded stack's moto: the TLS-only rule must not hide the audit log, and
"only the writer role may put objects" must hold for that role and no other principal."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from audit_helpers import REGION
from botocore.exceptions import ClientError
from moto import mock_aws

from embedded_stack.moto_server import patches as moto_patches


def test_tls_only_deny_does_not_block_reads_without_a_transport_context() -> None:
    moto_patches._patch_policy_conditions()
    moto_patches._patch_policy_conditions()  # once only
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket="audit")
        s3.put_object(Bucket="audit", Key="audit/x", Body=b"line\n")
        s3.put_object(Bucket="audit", Key="secret/y", Body=b"no")
        deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:*"}
        s3.put_bucket_policy(
            Bucket="audit",
            Policy=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            **deny,
                            "Resource": ["arn:aws:s3:::audit", "arn:aws:s3:::audit/*"],
                            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                        },
                        {**deny, "Resource": "arn:aws:s3:::audit/secret/*"},
                    ],
                }
            ),
        )
        assert s3.get_object(Bucket="audit", Key="audit/x")["Body"].read() == b"line\n"
        try:
            s3.get_object(Bucket="audit", Key="secret/y")
            raise AssertionError("an unconditional Deny must still deny")
        except s3.exceptions.ClientError as error:
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403


def _writers_only_policy(bucket: str, writer_arn: str) -> str:
    """The bucket module's statements (terraform/modules/bucket/main.tf) for one writer role."""
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                },
                {
                    "Sid": "DenyObjectWritesByOthers",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:PutObject",
                    "Resource": f"arn:aws:s3:::{bucket}/*",
                    "Condition": {"ArnNotEquals": {"aws:PrincipalArn": [writer_arn]}},
                },
            ],
        }
    )


def _status(call: Any) -> int:
    try:
        return call()["ResponseMetadata"]["HTTPStatusCode"]
    except ClientError as error:
        return error.response["ResponseMetadata"]["HTTPStatusCode"]


def test_only_the_writer_role_may_put_objects_in_the_audit_bucket() -> None:
    """Before the patch moto treated ArnNotEquals as holding: the Deny hit the writer role too (and,
    with the TLS rule's patch alone, a caller without a known principal was let through)."""
    moto_patches._patch_policy_conditions()
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                 "Principal": {"Service": "firehose.amazonaws.com"}}]}  # fmt: skip
        role = iam.create_role(RoleName="audit-firehose", AssumeRolePolicyDocument=json.dumps(trust))["Role"]
        iam.create_role(RoleName="someone-else", AssumeRolePolicyDocument=json.dumps(trust))
        iam.create_user(UserName="admin")
        admin_key = iam.create_access_key(UserName="admin")["AccessKey"]
        sts = boto3.client("sts", region_name=REGION)

        def as_role(name: str) -> Any:
            creds = sts.assume_role(
                RoleArn=f"arn:aws:iam::123456789012:role/{name}", RoleSessionName="session"
            )
            c = creds["Credentials"]
            return boto3.client(
                "s3",
                region_name=REGION,
                aws_access_key_id=c["AccessKeyId"],
                aws_secret_access_key=c["SecretAccessKey"],
                aws_session_token=c["SessionToken"],
            )

        anonymous_ish = boto3.client("s3", region_name=REGION)  # credentials moto never issued
        admin = boto3.client(
            "s3",
            region_name=REGION,
            aws_access_key_id=admin_key["AccessKeyId"],
            aws_secret_access_key=admin_key["SecretAccessKey"],
        )
        anonymous_ish.create_bucket(Bucket="audit")
        anonymous_ish.put_bucket_policy(Bucket="audit", Policy=_writers_only_policy("audit", role["Arn"]))

        writer = as_role("audit-firehose")
        assert _status(lambda: writer.put_object(Bucket="audit", Key="audit/a", Body=b"1\n")) == 200
        assert (
            _status(lambda: as_role("someone-else").put_object(Bucket="audit", Key="audit/b", Body=b"x"))
            == 403
        )
        assert _status(lambda: admin.put_object(Bucket="audit", Key="audit/a", Body=b"forged")) == 403
        assert _status(lambda: anonymous_ish.put_object(Bucket="audit", Key="audit/c", Body=b"x")) == 403
        # Reading stays open to the account (the TLS rule cannot apply over moto's plain HTTP).
        assert admin.get_object(Bucket="audit", Key="audit/a")["Body"].read() == b"1\n"
        assert [o["Key"] for o in anonymous_ish.list_objects_v2(Bucket="audit")["Contents"]] == ["audit/a"]


@pytest.mark.parametrize(
    ("condition", "context", "holds"),
    [
        ({"ArnNotEquals": {"aws:PrincipalArn": ["arn:a"]}}, {"aws:PrincipalArn": "arn:a"}, False),
        ({"ArnNotEquals": {"aws:PrincipalArn": ["arn:a"]}}, {"aws:PrincipalArn": "arn:b"}, True),
        ({"ArnNotEquals": {"aws:PrincipalArn": ["arn:a"]}}, {}, True),  # absent: a negated operator holds
        ({"ArnLike": {"aws:SourceArn": "arn:x:*"}}, {}, False),  # absent: a positive operator fails
        ({"StringEqualsIfExists": {"aws:SourceAccount": "1"}}, {}, True),
        ({"Bool": {"aws:SecureTransport": "false"}}, {}, False),
        ({"StringEquals": {"k": ["a", "b"]}, "ArnLike": {"j": "arn:*"}}, {"k": "b", "j": "arn:z"}, True),
        ({"NumericLessThan": {"k": "3"}}, {"k": "1"}, None),  # not evaluated: the statement is skipped
    ],
)
def test_conditions_follow_iam_semantics(condition: dict, context: dict, holds: bool | None) -> None:
    assert moto_patches.conditions_hold(condition, context) is holds
